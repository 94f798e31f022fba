"""``--diff``, ``--check`` and refusing to overwrite files the codemod did not write.

The subclass-mode cases use a small plain-PyTorch script (fast); the vendor-mode ones the seed example.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from archit_codemod.cli import main
from archit_codemod.declaration.diffing import colourize, unified_diff

REPO_ROOT = Path(__file__).resolve().parents[2]
SEED = REPO_ROOT / "examples" / "roberta_word_embeddings.py"

NETWORK = """
from torch import nn


class Net(nn.Module):
    def __init__(self, width: int = 4):
        super().__init__()
        self.body = nn.Linear(width, width)
        self.act = nn.ReLU()


model = Net(4)
model.act = nn.GELU()
"""


def run(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), environment.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "archit_codemod", *arguments],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture
def network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    script = tmp_path / "network.py"
    script.write_text(NETWORK.lstrip("\n"))
    return script


# --- diffs -------------------------------------------------------------------------------------------


def test_unified_diff_uses_the_labels_and_is_empty_for_equal_texts() -> None:
    diff = unified_diff("a\nb\n", "a\nc\n", "a/x.py", "b/out/x.py")
    assert diff.splitlines() == ["--- a/x.py", "+++ b/out/x.py", "@@ -1,2 +1,2 @@", " a", "-b", "+c"]
    assert unified_diff("same\n", "same\n", "a/x", "b/x") == ""
    # A last line without newline stays a valid patch.
    assert unified_diff("a", "b", "a/x", "b/x").endswith(
        "-a\n\\ No newline at end of file\n+b\n\\ No newline at end of file\n"
    )


def test_colourize_marks_removals_additions_and_hunks() -> None:
    coloured = colourize("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n same\n")
    lines = coloured.splitlines()
    assert lines[3] == "\033[31m-old\033[0m" and lines[4] == "\033[32m+new\033[0m"
    assert lines[2].startswith("\033[36m@@") and lines[0].startswith("\033[1m---")
    assert lines[5] == " same"


def test_subclass_diff_against_nothing_then_against_the_file_on_disk(network: Path, capsys) -> None:
    assert main(["--diff", "-o", "declared.py", str(network)]) == 0
    out, _ = capsys.readouterr()
    assert out.startswith("--- /dev/null\n+++ b/declared.py\n")
    assert "+        self.act = nn.GELU()\n" in out
    assert "\033[" not in out  # not a terminal: no colour
    assert not Path("declared.py").exists(), "--diff writes nothing"

    assert main(["-o", "declared.py", str(network)]) == 0
    written = Path("declared.py").read_text()
    Path("declared.py").write_text(written.replace("nn.GELU()", "nn.SiLU()"))
    capsys.readouterr()
    assert main(["--diff", "-o", "declared.py", str(network)]) == 0
    out, _ = capsys.readouterr()
    assert out.startswith("--- a/declared.py\n+++ b/declared.py\n")
    assert "-        self.act = nn.SiLU()\n+        self.act = nn.GELU()\n" in out


def test_diff_is_coloured_on_a_terminal(network: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    assert main(["--diff", str(network)]) == 0
    out, _ = capsys.readouterr()
    assert "\033[32m+        self.act = nn.GELU()\033[0m" in out


def test_vendor_diff_names_the_original_and_the_output(tmp_path: Path) -> None:
    completed = run("--mode", "vendor", "--diff", "-o", "out", str(SEED), cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert "--- a/transformers/models/roberta/modeling_roberta.py\n+++ b/out/modeling_roberta.py\n" in out
    assert "--- /dev/null\n+++ b/out/roberta_word_embeddings.py\n" in out
    assert "-class RobertaEmbeddings(nn.Module):\n+class RobertaEmbeddingsModified(nn.Module):\n" in out
    assert "+        self.word_embeddings = CoolNewEmbeddingMatrix(config, bottleneck_size=16)\n" in out
    assert "\033[" not in out
    assert not (tmp_path / "out").exists(), "--diff writes nothing"
    assert [path.name for path in tmp_path.iterdir()] == []


# --- check --------------------------------------------------------------------------------------------


def test_subclass_check_passes_on_the_generated_file_and_fails_on_a_hand_edit(network: Path, capsys) -> None:
    assert main(["--check", "-o", "declared.py", str(network)]) == 1  # nothing there yet
    out, err = capsys.readouterr()
    assert out.startswith("--- /dev/null\n+++ b/declared.py\n") and "declared.py differ" in err

    assert main(["-o", "declared.py", str(network)]) == 0
    capsys.readouterr()
    assert main(["--check", "-o", "declared.py", str(network)]) == 0
    out, err = capsys.readouterr()
    assert out == "" and "up to date" in err

    edited = Path("declared.py").read_text().replace("nn.GELU()", "nn.GELU()  # tuned by hand")
    Path("declared.py").write_text(edited)
    assert main(["--check", "-o", "declared.py", str(network)]) == 1
    out, err = capsys.readouterr()
    assert "--- a/declared.py\n+++ b/declared.py\n" in out
    assert "-        self.act = nn.GELU()  # tuned by hand\n+        self.act = nn.GELU()\n" in out
    assert "edited by hand" in err
    assert Path("declared.py").read_text() == edited, "--check writes nothing"


def test_vendor_check_both_ways(tmp_path: Path) -> None:
    written = run("--mode", "vendor", "-o", "out", str(SEED), cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    check = run("--mode", "vendor", "--check", "-o", "out", str(SEED), cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    assert check.stdout == ""

    modeling = tmp_path / "out" / "modeling_roberta.py"
    edited = modeling.read_text().replace("bottleneck_size=16)", "bottleneck_size=32)")
    modeling.write_text(edited)
    (tmp_path / "out" / "roberta_word_embeddings.py").unlink()
    check = run("--mode", "vendor", "--check", "-o", "out", str(SEED), cwd=tmp_path)
    assert check.returncode == 1
    assert "--- a/out/modeling_roberta.py\n+++ b/out/modeling_roberta.py\n" in check.stdout
    assert (
        "-        self.word_embeddings = CoolNewEmbeddingMatrix(config, bottleneck_size=32)\n" in check.stdout
    )
    assert "--- /dev/null\n+++ b/out/roberta_word_embeddings.py\n" in check.stdout
    assert modeling.read_text() == edited


def test_pre_commit_hook_runs_check() -> None:
    hooks = (REPO_ROOT / ".pre-commit-hooks.yaml").read_text()
    assert "id: archit-codemod-check" in hooks
    assert "entry: archit-codemod --check" in hooks


# --- writing safely -----------------------------------------------------------------------------------


def test_a_foreign_file_is_not_overwritten_without_force(network: Path, capsys) -> None:
    precious = b"# my own code, not generated\nclass Net: ...\n"
    Path("declared.py").write_bytes(precious)
    assert main(["-o", "declared.py", str(network)]) == 2
    err = capsys.readouterr().err
    assert "declared.py: exists and was not generated by archit_codemod" in err and "--force" in err
    assert Path("declared.py").read_bytes() == precious

    assert main(["--force", "-o", "declared.py", str(network)]) == 0
    assert Path("declared.py").read_text().startswith("# Generated by archit_codemod")
    # Now it is ours: a second run replaces it without --force.
    assert main(["-o", "declared.py", str(network)]) == 0


def test_a_foreign_vendor_folder_is_not_overwritten(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    precious = b"# hand-written remote code\n"
    (folder / "modeling_roberta.py").write_bytes(precious)
    completed = run("--mode", "vendor", "-o", "out", str(SEED), cwd=tmp_path)
    assert completed.returncode == 2
    assert "not generated by archit_codemod" in completed.stderr
    assert (folder / "modeling_roberta.py").read_bytes() == precious
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"], "no temporary folder left behind"


def test_folder_is_replaced_file_by_file_and_a_foreign_file_in_it_stops_everything(tmp_path: Path) -> None:
    from archit_codemod.cli import ForeignFilesError, write_folder_atomically

    folder = tmp_path / "out"
    write_folder_atomically(folder, {"a.py": "# Generated by archit_codemod\nA = 1\n"})
    assert (folder / "a.py").read_text().endswith("A = 1\n")
    (folder / "b.py").write_text("mine\n")
    with pytest.raises(ForeignFilesError, match="b.py"):
        write_folder_atomically(
            folder,
            {"a.py": "# Generated by archit_codemod\nA = 2\n", "b.py": "# Generated by archit_codemod\n"},
        )
    assert (folder / "a.py").read_text().endswith("A = 1\n"), "nothing is replaced when one file is foreign"
    assert (folder / "b.py").read_text() == "mine\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]
