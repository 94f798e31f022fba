"""Fixtures of the declaration tests: small scripts on disk, tiny transformers configs, the command line."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from output_support import MODES

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session", params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    """The emitter a generating test runs with: every such test runs once per mode, subclass and vendor."""
    return request.param


@pytest.fixture
def scripts(tmp_path: Path) -> Callable[..., Path]:
    """``scripts("name.py", source)`` writes a dedented script into ``tmp_path`` and returns its path."""

    def write(name: str, source: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip("\n"))
        return path

    return write


TINY_BERT = "BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37, vocab_size=99)"
"""The source of a tiny BERT config (as in a user's script)."""


@pytest.fixture
def run_cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``run_cli(*args)`` runs ``python -m archit_codemod ARGS`` in ``tmp_path``, as a user would."""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "archit_codemod", *args],
            cwd=tmp_path,
            env=environment,
            capture_output=True,
            text=True,
            timeout=600,
        )

    return run
