"""Generated files are left unchanged by ``ruff format --line-length 119`` (transformers' own style), so a
repository that formats its files does not make ``--check`` fail forever."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from archit_codemod.declaration.editing.layout import LINE_LENGTH

REPO_ROOT = Path(__file__).resolve().parents[2]
GOLDEN_FILES = sorted((REPO_ROOT / "golden").rglob("*.py"))


def test_every_golden_file_is_stable_under_ruff_format_at_transformers_line_length():
    assert LINE_LENGTH == 119
    assert len(GOLDEN_FILES) >= 10, "the golden files moved"
    completed = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "--line-length", str(LINE_LENGTH)]
        + ["--isolated", *map(str, GOLDEN_FILES)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
