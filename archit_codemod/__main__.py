"""``python -m archit_codemod [OPTIONS] SCRIPT [SCRIPT_ARGS...]``: see :mod:`archit_codemod.cli`."""

import sys

from archit_codemod.cli import main

if __name__ == "__main__":
    sys.exit(main())
