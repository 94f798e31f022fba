#!/usr/bin/env bash
# Creates a virtual environment, installs PyTorch 2.13.0 first, then archit_codemod in editable mode with its
# development tools.
#
#   VENV             the environment's folder (default .venv)
#   TRANSFORMERS     a pip requirement for transformers, e.g. 'transformers==4.57.*' for the oldest
#                    supported release (default: the newest release the package admits)
#   TORCH_INDEX_URL  the package index PyTorch is installed from, which decides its build:
#                      https://download.pytorch.org/whl/cpu        the CPU-only build (a few hundred MB)
#                      https://download.pytorch.org/whl/cu<XYZ>    a CUDA build (pytorch.org lists the CUDA
#                                                                  versions of each release)
#                    Default: pip's configured index, as for any package. From PyPI, Linux gets the CUDA
#                    build (several GB); macOS and Windows get their default build.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${VENV:-.venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
if [ -n "${TORCH_INDEX_URL:-}" ]; then
    "$venv/bin/python" -m pip install --quiet --index-url "$TORCH_INDEX_URL" torch==2.13.0
else
    "$venv/bin/python" -m pip install --quiet torch==2.13.0
fi
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
"$venv/bin/python" -c 'import torch; cuda = torch.version.cuda or "none"; print(f"bootstrap: torch {torch.__version__}, CUDA {cuda}")'
