#!/usr/bin/env bash
# Creates .venv with the pinned CPU build of PyTorch first (an unpinned torch pulls a multi-GB CUDA
# build), then installs archit_codemod in editable mode with its development tools.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet torch==2.13.0
.venv/bin/python -m pip install --quiet -e ".[dev]"
