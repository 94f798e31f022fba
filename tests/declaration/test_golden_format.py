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


def _unchanged_by_ruff(text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "generated.py"
    path.write_text(text, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "--line-length", str(LINE_LENGTH)]
        + ["--isolated", "--diff", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_init_that_extends_the_original_keeps_its_multi_line_signature(tmp_path):
    # Only statements after the original __init__: the generated __init__ calls it, with its signature as written.
    from output_support import declared, output_text

    script = tmp_path / "extend.py"
    script.write_text(
        "from torch import nn\n\n\n"
        "class Block(nn.Module):\n"
        "    def __init__(\n        self,\n        width: int,\n        depth: int = 2,\n    ):\n"
        "        super().__init__()\n        self.fc = nn.Linear(width, width)\n\n\n"
        "model = Block(4)\nmodel.fc.register_forward_hook(print)\n",
        encoding="utf-8",
    )
    _, _, output = declared(script, "subclass")
    text = output_text(output)
    assert "    def __init__(\n        self,\n        width: int,\n        depth: int = 2,\n    ):\n" in text
    completed = _unchanged_by_ruff(text, tmp_path)
    assert completed.returncode == 0, completed.stdout
