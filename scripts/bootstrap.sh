#!/usr/bin/env bash
# Creates a virtual environment with the pinned CPU build of PyTorch first (an unpinned torch pulls a
# multi-GB CUDA build), then installs archit_codemod in editable mode with its development tools.
#
#   VENV          the environment's folder (default .venv)
#   TRANSFORMERS  a pip requirement for transformers, e.g. 'transformers==4.57.*' for the oldest
#                 supported release (default: the newest release the package admits)
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${VENV:-.venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet torch==2.13.0
if [ -n "${TRANSFORMERS:-}" ]; then
    "$venv/bin/python" -m pip install --quiet -e ".[dev]" "$TRANSFORMERS"
else
    "$venv/bin/python" -m pip install --quiet -e ".[dev]"
fi
# AdapterHub's adapters requires transformers 4.57: where that release is installed, add it for the
# real-world tests (tests/realworld), as pyproject.toml's extra "adapters-tests".
if "$venv/bin/python" -c 'import sys, transformers; sys.exit(not transformers.__version__.startswith("4.57."))'; then
    "$venv/bin/python" -m pip install --quiet -e ".[dev,adapters-tests]" ${TRANSFORMERS:+"$TRANSFORMERS"}
fi
