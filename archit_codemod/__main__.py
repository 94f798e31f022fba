"""``python -m archit_codemod [OPTIONS] SCRIPT [SCRIPT_ARGS...]``: see :mod:`archit_codemod.cli`."""

import sys

if __name__ == "__main__":
    try:
        from archit_codemod.cli import main
    except KeyboardInterrupt:  # Ctrl-C while starting up: the same one line as later on
        from archit_codemod.cli.console import report_interrupted

        report_interrupted()
        sys.exit(130)  # ExitStatus.INTERRUPTED, which the interrupted import could not define
    sys.exit(main())
