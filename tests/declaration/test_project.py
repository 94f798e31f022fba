"""The project-wide commands: ``archit-codemod check`` / ``generate`` over the targets of ``pyproject.toml``."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from archit_codemod.cli import main
from archit_codemod.project import ProjectError, Target, find_config, load_project

NET = """
import sys
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 4)
        self.act = nn.ReLU()


model = Net()
model.act = nn.{activation}() if len(sys.argv) < 2 else getattr(nn, sys.argv[1])()
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


def test_targets_are_chosen_by_name_or_by_output(repository: Path, capsys):
    from archit_codemod.project_cli import _selected

    project = load_project(find_config(Path.cwd()))
    first, second, vendored = project.targets
    assert _selected(project, []) == [first, second, vendored]
    assert _selected(project, ["tanh", "models/vendored/", "models/second.py"]) == [second, vendored]
    assert main(["check", "nothing-like-it"]) == 2
    assert (
        "has no target 'nothing-like-it'. Fix: give one of models/first.py, tanh" in capsys.readouterr().err
    )
