"""The project-wide commands: ``archit-codemod check`` / ``generate`` over the targets of ``pyproject.toml``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from archit_codemod.cli import main
from archit_codemod.cli.project_config import ProjectError, Target, find_config, load_project

NET = """
import sys
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 4)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.body(x))


model = Net()
model.act = nn.{activation}() if len(sys.argv) < 2 else getattr(nn, sys.argv[1])()
model(torch.ones(2, 4))  # verification compares outputs on what the script ran
"""

PYPROJECT = """
[project]
name = "demo"

[tool.archit_codemod]
suffix = "Declared"

[[tool.archit_codemod.targets]]
script = "scripts/first.py"
output = "models/first.py"

[[tool.archit_codemod.targets]]
name = "tanh"
script = "scripts/second.py"
args = ["Tanh"]
output = "models/second.py"

[[tool.archit_codemod.targets]]
script = "scripts/first.py"
output = "models/vendored"
mode = "vendor"
"""


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    repo = tmp_path / "repo"
    _write(repo / "pyproject.toml", PYPROJECT)
    _write(repo / "scripts" / "first.py", NET.format(activation="GELU"))
    _write(repo / "scripts" / "second.py", NET.format(activation="SiLU"))
    (repo / "models").mkdir()
    monkeypatch.chdir(repo / "scripts")  # found from a subfolder, like git
    return repo


def _results(out: str) -> list[list[str]]:
    return [
        line.split()[:2]
        for line in out.splitlines()
        if line.split()[:1] in (["ok"], ["stale"], ["error"], ["wrote"])
    ]


# --- configuration -------------------------------------------------------------------------------------


def test_targets_are_read_with_defaults_and_turned_into_arguments(repository: Path):
    config = find_config(Path.cwd())
    assert config == (repository / "pyproject.toml").resolve()
    project = load_project(config)
    assert project.root == repository.resolve()
    first, second, vendored = project.targets
    assert first == Target(script="scripts/first.py", output="models/first.py", suffix="Declared")
    assert second.label == "tanh" and second.args == ("Tanh",)
    assert vendored.arguments() == [
        "--mode", "vendor", "-o", "models/vendored", "--suffix", "Declared", "--", "scripts/first.py",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[[tool.archit_codemod.targets]]\nscript = "s.py"\n', "target 1: no output"),
        (
            '[[tool.archit_codemod.targets]]\nscript = "s.py"\noutput = "o.py"\nmodes = "x"\n',
            "unknown key 'modes'",
        ),
        (
            '[[tool.archit_codemod.targets]]\nscript = "s.py"\noutput = "o.py"\nprune = "yes"\n',
            "must be true or false",
        ),
        (
            '[[tool.archit_codemod.targets]]\nscript = "s.py"\noutput = "o.py"\nargs = "--x"\n',
            "args must be a list",
        ),
        (
            '[[tool.archit_codemod.targets]]\nscript = "s.py"\noutput = "o.py"\nmode = "copy"\n',
            'Fix: mode = "subclass"',
        ),
        ("[tool.archit_codemod]\n", "lists no targets"),
        ('[tool.archit_codemod]\noutput = "o.py"\n', "not a default for targets"),
        (
            '[tool.archit_codemod]\nsufix = "V2"\n[[tool.archit_codemod.targets]]\nscript = "s.py"\noutput = "o.py"\n',
            "has an unknown key 'sufix' (did you mean 'suffix'?). Fix: use only mode, suffix, model, prune, "
            "save-pretrained, verify there",
        ),
        (
            '[[tool.archit_codemod.targets]]\nscript = "s.py"\noutput = "o.py"\nsave-pretrained = true\n',
            'save-pretrained = true needs mode = "vendor"',
        ),
        (
            '[[tool.archit_codemod.targets]]\nscript = "a.py"\noutput = "o.py"\n'
            '[[tool.archit_codemod.targets]]\nscript = "b.py"\noutput = "o.py"\n',
            "two targets are called o.py",
        ),
    ],
)
def test_a_wrong_configuration_is_refused_with_the_fix(tmp_path: Path, table: str, message: str, capsys):
    config = tmp_path / "pyproject.toml"
    config.write_text(table)
    with pytest.raises(ProjectError, match="Fix:") as raised:
        load_project(config)
    assert message in str(raised.value)
    assert main(["check", "--project", str(config)]) == 2
    assert message in capsys.readouterr().err


def test_a_top_level_typo_is_not_taken_for_a_per_target_key(tmp_path: Path):
    config = tmp_path / "pyproject.toml"
    config.write_text(
        '[tool.archit_codemod]\nsufix = "V2"\n[[tool.archit_codemod.targets]]\nscript = "s.py"\noutput = "o.py"\n'
    )
    with pytest.raises(ProjectError) as raised:
        load_project(config)
    assert "put script, output, args and name in each" not in str(raised.value)


def test_no_configuration_says_where_it_looked(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["check"]) == 2
    assert "no pyproject.toml with a [tool.archit_codemod] table" in capsys.readouterr().err


def test_a_script_named_check_runs_as_dot_slash_check(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "check", NET.format(activation="GELU"))
    assert main(["./check"]) == 0
    assert "class NetModified(Net):" in capsys.readouterr().out


# --- running every target ------------------------------------------------------------------------------


def test_generate_then_check_three_targets_one_line_each(repository: Path, capsys):
    assert main(["generate"]) == 0
    out, err = capsys.readouterr()
    assert _results(out) == [["wrote", "models/first.py"], ["wrote", "tanh"], ["wrote", "models/vendored"]]
    assert "3 targets: 3 wrote" in err
    assert "class NetDeclared(Net):" in (repository / "models" / "first.py").read_text()
    assert "nn.Tanh()" in (repository / "models" / "second.py").read_text()
    assert (repository / "models" / "vendored" / "first.py").is_file()

    assert main(["check"]) == 0
    out, err = capsys.readouterr()
    assert _results(out) == [["ok", "models/first.py"], ["ok", "tanh"], ["ok", "models/vendored"]]
    assert out.count("\n") == 3, "one line per target and nothing else"

    # One output edited by hand: one line each, the patch of the stale one, exit 1.
    second = repository / "models" / "second.py"
    second.write_text(second.read_text().replace("nn.Tanh()", "nn.Tanh()  # by hand"))
    assert main(["check"]) == 1
    out, err = capsys.readouterr()
    assert _results(out) == [["ok", "models/first.py"], ["stale", "tanh"], ["ok", "models/vendored"]]
    assert "--- a/models/second.py\n+++ b/models/second.py\n" in out
    assert "-        self.act = nn.Tanh()  # by hand\n+        self.act = nn.Tanh()\n" in out
    assert "3 targets: 2 ok, 1 stale" in err

    # A script that fails: an error line with its traceback, and exit 2 (only that target is run).
    first_script = repository / "scripts" / "first.py"
    first_script.write_text(first_script.read_text() + "raise RuntimeError('broken on purpose')\n")
    assert main(["check", "models/first.py"]) == 2
    out, err = capsys.readouterr()
    assert _results(out) == [["error", "models/first.py"]]
    assert "RuntimeError: broken on purpose" in err and "1 target: 1 error" in err


DOCUMENTED = """
[[tool.archit_codemod.targets]]
script = "scripts/modify_model.py"
output = "models/declared.py"

[[tool.archit_codemod.targets]]
script = "scripts/modify_model.py"
output = "checkpoints/my-model"
mode = "vendor"
"""
"""The two targets of README and docs/check-mode.md (without the checkpoint: the script's model is plain
PyTorch)."""


def test_generate_in_a_fresh_repository_creates_the_output_folders(tmp_path: Path, monkeypatch, capsys):
    _write(tmp_path / "pyproject.toml", DOCUMENTED)
    _write(tmp_path / "scripts" / "modify_model.py", NET.format(activation="GELU"))
    monkeypatch.chdir(tmp_path)
    assert main(["generate"]) == 0
    out, err = capsys.readouterr()
    assert _results(out) == [["wrote", "models/declared.py"], ["wrote", "checkpoints/my-model"]]
    assert "usage:" not in err
    assert "class NetModified(Net):" in (tmp_path / "models" / "declared.py").read_text()
    assert (tmp_path / "checkpoints" / "my-model" / "modify_model.py").is_file()


def test_a_problem_with_the_output_is_not_a_usage_error(tmp_path: Path, monkeypatch, capsys):
    _write(tmp_path / "modify.py", NET.format(activation="GELU"))
    monkeypatch.chdir(tmp_path)
    assert main(["-o", ".", "modify.py"]) == 2
    err = capsys.readouterr().err
    assert "--output . is a folder" in err and "usage:" not in err
    assert main(["--check", "modify.py"]) == 2  # the options alone are wrong: the usage lines help
    assert capsys.readouterr().err.startswith("usage:")


def test_check_names_the_project_command_as_the_fix(repository: Path, capsys):
    assert main(["check", "tanh"]) == 1
    out, err = capsys.readouterr()
    assert _results(out) == [["stale", "tanh"]]
    assert "Fix: generate it first: archit-codemod generate tanh." in err
    assert main(["generate", "tanh"]) == 0
    second = repository / "models" / "second.py"
    second.write_text(second.read_text() + "# edited\n")
    capsys.readouterr()
    assert main(["check", "tanh"]) == 1
    err = capsys.readouterr().err
    assert "Fix: run archit-codemod generate tanh." in err
    assert "without --check" not in err


def test_quiet_before_or_after_the_command_leaves_out_what_went_well(repository: Path, capsys):
    assert main(["-q", "generate", "tanh"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and err == ""
    assert "nn.Tanh()" in (repository / "models" / "second.py").read_text()
    assert main(["generate", "-q", "tanh"]) == 0
    assert capsys.readouterr() == ("", "")
    assert main(["-q", "--color=never", "check"]) == 1  # two targets not generated yet: their lines stay
    out, _ = capsys.readouterr()
    assert _results(out) == [["stale", "models/first.py"], ["stale", "models/vendored"]]
    assert main(["--", "check"]) == 2  # after --, a script named check (there is none)
    assert "check: no such file" in capsys.readouterr().err


def test_ctrl_c_during_generate_says_which_targets_were_written(repository: Path):
    """Ctrl-C reaches every process of the terminal's foreground group: the command and the target it runs."""
    (repository / "scripts" / "second.py").write_text(
        NET.format(activation="SiLU") + "open('second-started', 'w').close()\nimport time\ntime.sleep(300)\n"
    )
    started = repository / "second-started"
    process = subprocess.Popen(
        [sys.executable, "-m", "archit_codemod", "generate"],
        cwd=repository,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        while not started.exists() and process.poll() is None:
            time.sleep(0.2)
        assert process.poll() is None, process.communicate()
        os.killpg(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, err
    assert _results(out) == [["wrote", "models/first.py"]]
    assert err.splitlines()[-1] == (
        "archit_codemod: interrupted after writing models/first.py; nothing else was written"
    )
    assert "nothing was written" not in err
    assert not (repository / "models" / "second.py").exists()


def test_targets_are_chosen_by_name_or_by_output(repository: Path, capsys):
    from archit_codemod.cli.project_run import _selected

    project = load_project(find_config(Path.cwd()))
    first, second, vendored = project.targets
    assert _selected(project, []) == [first, second, vendored]
    assert _selected(project, ["tanh", "models/vendored/", "models/second.py"]) == [second, vendored]
    assert main(["check", "nothing-like-it"]) == 2
    assert (
        "has no target 'nothing-like-it'. Fix: give one of models/first.py, tanh" in capsys.readouterr().err
    )
