"""``--diff``, ``--diff-original``, ``--check`` (checkpoints included) and refusing to overwrite foreign files.

The subclass-mode cases use a small plain-PyTorch script (fast); the vendor-mode ones a tiny BERT or the seed
example.
"""

from __future__ import annotations

import json
import os
import re
import shutil
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

FACTORISED_BERT = """
import argparse

from torch import nn
from transformers import BertConfig, BertModel


class Factorised(nn.Module):
    def __init__(self, config, bottleneck: int):
        super().__init__()
        self.lookup = nn.Embedding(config.vocab_size, bottleneck)
        self.up = nn.Linear(bottleneck, config.hidden_size, bias=False)

    def forward(self, input_ids):
        return self.up(self.lookup(input_ids))


parser = argparse.ArgumentParser()
parser.add_argument("--bottleneck", type=int, default=16)
args = parser.parse_args()
# No seed: the weights differ from run to run, and --check must not care.
model = BertModel(BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37, vocab_size=99))
model.embeddings.word_embeddings = Factorised(model.config, args.bottleneck)
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


def git(*arguments: str, cwd: Path) -> str:
    completed = subprocess.run(["git", *arguments], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


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


def test_subclass_diff_creates_the_file_then_patches_it(network: Path, capsys) -> None:
    assert main(["--diff", "-o", "declared.py", str(network)]) == 0
    out, _ = capsys.readouterr()
    assert out.startswith("--- /dev/null\n+++ b/declared.py\n@@ -0,0 +1,")
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


def test_diff_colour_follows_the_terminal_no_color_and_the_color_option(
    network: Path, capsys, monkeypatch
) -> None:
    added = "+        self.act = nn.GELU()"
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    assert main(["--diff", "-o", "declared.py", str(network)]) == 0
    assert f"\033[32m{added}\033[0m" in capsys.readouterr().out
    monkeypatch.setenv("NO_COLOR", "1")
    assert main(["--diff", "-o", "declared.py", str(network)]) == 0
    out = capsys.readouterr().out
    assert added in out and "\033[" not in out
    assert main(["--color=always", "--diff", "-o", "declared.py", str(network)]) == 0
    assert f"\033[32m{added}\033[0m" in capsys.readouterr().out
    monkeypatch.delenv("NO_COLOR")
    assert main(["--color=never", "--diff", "-o", "declared.py", str(network)]) == 0
    assert "\033[" not in capsys.readouterr().out


def test_a_diff_is_a_patch_git_apply_accepts(tmp_path: Path, monkeypatch, capsys) -> None:
    """The round trip: from a subfolder of a git work tree, --diff, git apply, and the file is regenerated."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    (repo / "models").mkdir()
    script = repo / "scripts" / "modify.py"
    script.write_text(NETWORK.lstrip("\n"))
    git("init", "-q", cwd=repo)
    monkeypatch.chdir(repo / "scripts")

    # A file that does not exist yet: the patch creates it.
    assert main(["--diff", "-o", "../models/declared.py", "modify.py"]) == 0
    creation = capsys.readouterr().out
    assert creation.startswith("--- /dev/null\n+++ b/models/declared.py\n")
    (tmp_path / "creation.patch").write_text(creation)
    git("apply", str(tmp_path / "creation.patch"), cwd=repo)
    assert main(["--check", "-o", "../models/declared.py", "modify.py"]) == 0

    # The script changes: the patch turns the committed file into the new output.
    script.write_text(NETWORK.lstrip("\n").replace("nn.GELU()", "nn.SiLU()"))
    capsys.readouterr()
    assert main(["--diff", "-o", "../models/declared.py", "modify.py"]) == 0
    change = capsys.readouterr().out
    assert change.startswith("--- a/models/declared.py\n+++ b/models/declared.py\n")
    (tmp_path / "change.patch").write_text(change)
    git("apply", "--check", str(tmp_path / "change.patch"), cwd=repo)
    git("apply", str(tmp_path / "change.patch"), cwd=repo)
    assert main(["--check", "-o", "../models/declared.py", "modify.py"]) == 0
    assert "self.act = nn.SiLU()" in (repo / "models" / "declared.py").read_text()

    # A vendor folder: every file of it in one patch.
    vendor = ["--mode", "vendor", "-o", "../models/vendored", "modify.py"]
    assert main(vendor) == 0
    script.write_text(NETWORK.lstrip("\n").replace("nn.GELU()", "nn.Tanh()"))
    capsys.readouterr()
    assert main(["--diff", *vendor]) == 0
    (tmp_path / "vendor.patch").write_text(capsys.readouterr().out)
    git("apply", str(tmp_path / "vendor.patch"), cwd=repo)
    assert main(["--check", *vendor]) == 0


def test_diff_original_shows_each_class_against_the_original_init(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    import transformers.models.bert.modeling_bert as modeling_bert

    monkeypatch.chdir(tmp_path)
    script = tmp_path / "no_pooler.py"
    script.write_text(
        "from transformers import BertConfig, BertModel\n"
        "model = BertModel(BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=4,"
        " intermediate_size=37, vocab_size=99))\n"
        "model.pooler = None\n"
    )
    assert main(["--diff-original", "-o", "declared.py", str(script)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("--- a/transformers/models/bert/modeling_bert.py\n+++ b/declared.py\n")
    assert "+class BertModelModified(BertModel):\n" in out
    assert "-        self.pooler = BertPooler(config) if add_pooling_layer else None\n" in out
    assert "+        self.pooler = None\n" in out
    assert not (tmp_path / "declared.py").exists()
    # The hunk's old line numbers are those of the installed file.
    original_lines = Path(modeling_bert.__file__).read_text().splitlines()
    start, count = map(int, re.search(r"^@@ -(\d+),(\d+) ", out, re.MULTILINE).groups())
    removed_or_kept = [line[1:] for line in out.split("\n@@", 1)[1].splitlines()[1:] if line[:1] in " -"]
    assert original_lines[start - 1 : start - 1 + count] == removed_or_kept


def test_vendor_diff_original_names_the_original_and_the_output(tmp_path: Path) -> None:
    completed = run("--mode", "vendor", "--diff-original", "-o", "out", str(SEED), cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert "--- a/transformers/models/roberta/modeling_roberta.py\n+++ b/out/modeling_roberta.py\n" in out
    assert "--- /dev/null\n+++ b/out/roberta_word_embeddings.py\n" in out
    assert "-class RobertaEmbeddings(nn.Module):\n+class RobertaEmbeddingsModified(nn.Module):\n" in out
    assert "+        self.word_embeddings = CoolNewEmbeddingMatrix(config, bottleneck_size=16)\n" in out
    assert "\033[" not in out
    assert [path.name for path in tmp_path.iterdir()] == [], "--diff-original writes nothing"


def test_vendor_diff_original_without_an_output_names_the_files_by_name(network: Path, capsys) -> None:
    """The form the --diff usage error suggests: no folder, so each vendored file is shown by its name."""
    assert main(["--mode", "vendor", "--diff-original", str(network)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("--- /dev/null\n+++ b/network.py\n")
    assert "+class NetModified(nn.Module):\n" in out
    assert "error" not in err
    assert sorted(path.name for path in network.parent.iterdir()) == ["network.py"]


# --- check --------------------------------------------------------------------------------------------


def test_subclass_check_passes_on_the_generated_file_and_fails_on_a_hand_edit(network: Path, capsys) -> None:
    assert main(["--check", "-o", "declared.py", str(network)]) == 1  # nothing there yet
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip() == (
        "archit_codemod: error: declared.py: no such file, so there is nothing to check. "
        "Fix: generate it first, with the same command without --check."
    )

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
    assert "declared.py differs from what" in err and "edited by hand" in err
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


def test_vendor_check_covers_the_checkpoint_by_its_recorded_hashes(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    script = tmp_path / "factorised.py"
    script.write_text(FACTORISED_BERT.lstrip("\n"))
    vendor = ["--mode", "vendor", "-o", "out"]

    def check(*extra: str) -> tuple[int, str]:
        capsys.readouterr()
        code = main([*vendor, "--check", "--save-pretrained", str(script), *extra])
        return code, capsys.readouterr().err

    assert main([*vendor, "--save-pretrained", str(script)]) == 0, capsys.readouterr().err
    manifest = json.loads((tmp_path / "out" / "archit_codemod.json").read_text())
    assert sorted(manifest["files"]) == ["config.json", "model.safetensors"]
    # The traced weights differ from run to run (no seed): hashes recorded at saving time, not new weights.
    assert check() == (0, "archit_codemod: out is up to date\n")

    (tmp_path / "out" / "model.safetensors").unlink()
    config = tmp_path / "out" / "config.json"
    config.write_text(config.read_text().replace('"vocab_size": 99', '"vocab_size": 98'))
    code, err = check()
    assert code == 1 and "with --save-pretrained" in err
    assert "out/model.safetensors: missing" in err and "out/config.json: changed after it was saved" in err

    # The script changes and the code is regenerated without --save-pretrained: the old checkpoint no longer
    # fits (from_pretrained would fail on the sizes), which the regeneration warns about and --check reports.
    assert main([*vendor, "--save-pretrained", str(script)]) == 0
    capsys.readouterr()
    assert main([*vendor, str(script), "--bottleneck", "8"]) == 0
    assert "holds a checkpoint that does not fit the regenerated code" in capsys.readouterr().err
    code, err = check("--bottleneck", "8")
    assert code == 1 and "saved from another model than the script builds now" in err
    # A check without --save-pretrained still looks at a checkpoint that is there.
    capsys.readouterr()
    assert main([*vendor, "--check", str(script), "--bottleneck", "8"]) == 1
    assert "saved from another model" in capsys.readouterr().err


def test_pre_commit_hooks_run_the_project_check_and_the_script_check() -> None:
    hooks = (REPO_ROOT / ".pre-commit-hooks.yaml").read_text()
    assert "- id: archit-codemod-check\n" in hooks and "entry: archit-codemod check\n" in hooks
    assert "- id: archit-codemod-check-script\n" in hooks and "entry: archit-codemod --check\n" in hooks
    assert "rev: v" not in hooks


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
    from archit_codemod.delivery.files import GENERATED_MARK, ForeignFilesError, replaced_folder

    def write(folder: Path, files: dict[str, str]) -> None:
        with replaced_folder(folder) as staging:
            for name, text in files.items():
                (staging / name).write_text(text)

    folder = tmp_path / "out"
    write(folder, {"a.py": f"{GENERATED_MARK}\nA = 1\n"})
    assert (folder / "a.py").read_text().endswith("A = 1\n")
    (folder / "b.py").write_text("mine\n")
    with pytest.raises(ForeignFilesError, match="b.py"):
        write(folder, {"a.py": f"{GENERATED_MARK}\nA = 2\n", "b.py": f"{GENERATED_MARK}\n"})
    assert (folder / "a.py").read_text().endswith("A = 1\n"), "nothing is replaced when one file is foreign"
    assert (folder / "b.py").read_text() == "mine\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]
