"""What the install promises: no deprecated license table, and a bootstrap that lets the user pick the PyTorch
build instead of claiming one."""

from __future__ import annotations

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_the_license_is_an_spdx_string_with_a_setuptools_that_reads_it():
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["license"] == "MIT"
    [setuptools] = [r for r in pyproject["build-system"]["requires"] if r.startswith("setuptools")]
    assert int(re.search(r">=(\d+)", setuptools).group(1)) >= 77  # SPDX strings need setuptools 77


def test_bootstrap_takes_the_pytorch_index_from_the_environment_and_pins_torch():
    script = (REPO_ROOT / "scripts" / "bootstrap.sh").read_text(encoding="utf-8")
    assert '--index-url "$TORCH_INDEX_URL" torch==2.13.0' in script
    assert "CPU build" not in script.split("set -euo pipefail")[0].replace("CPU-only build", "")
