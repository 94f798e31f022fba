"""A helper module beside the script (``from helpers import Scale``): the generated file imports from where it
is written, and verification imports it the way its users will.

``scripts/modify_model.py`` imports its replacement module from ``scripts/<helper>.py``, which only the
script's folder makes importable. Written to ``models/declared.py``, the output copies the helper's class
(and what the class uses from its module); written beside the script, it imports it. Each test's helper has
a name of its own, so no module cached in ``sys.modules`` by one test serves another.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from archit_codemod.cli import main
from archit_codemod.declaration.importability import beside_script, imported_as_users_will

REPO_ROOT = Path(__file__).resolve().parents[2]
_numbers = itertools.count()

HELPER = '''
import torch
from torch import nn

DEFAULT_FACTOR = 2.0


class Scale(nn.Module):
    """Multiplies by a learnt scalar, initialised to ``factor``."""

    def __init__(self, factor: float = DEFAULT_FACTOR):
        super().__init__()
        self.factor = nn.Parameter(torch.tensor(factor))

    def forward(self, x):
        return x * self.factor
'''

SCRIPT = """
from torch import nn

from {helper} import Scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 4)
        self.act = nn.ReLU()


model = Net()
model.act = Scale(0.5)
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    helper = f"helpers_{os.getpid()}_{next(_numbers)}"
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    (repo / "models").mkdir()
    (repo / "scripts" / f"{helper}.py").write_text(textwrap.dedent(HELPER).lstrip())
    (repo / "scripts" / "modify_model.py").write_text(textwrap.dedent(SCRIPT.format(helper=helper)).lstrip())
    monkeypatch.chdir(repo)
    yield repo, helper
    sys.modules.pop(helper, None)


def _import_as_a_user(repo: Path, statement: str) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run(
        [sys.executable, "-c", statement],
        cwd=repo,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_helper_class_is_copied_into_an_output_in_another_folder(project, capsys):
    repo, helper = project
    assert main(["-o", "models/declared.py", "scripts/modify_model.py"]) == 0, capsys.readouterr().err
    generated = (repo / "models" / "declared.py").read_text()
    assert helper not in generated.replace(f"{helper}.py", "")  # no import of the helper module
    assert "class Scale(nn.Module):" in generated and "DEFAULT_FACTOR = 2.0" in generated
    # The helper's definitions come before the script's, which may use them.
    assert (
        generated.index("class Scale(")
        < generated.index("class Net(")
        < generated.index("class NetModified(")
    )
    assert "self.act = Scale(0.5)" in generated
    # From the repository root, as `from models.declared import ...`: no scripts/ folder on the path.
    completed = _import_as_a_user(
        repo,
        "from models.declared import NetModified; model = NetModified(); "
        "print(type(model.act).__name__, float(model.act.factor))",
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "Scale 0.5"

    # Run from the script's own folder, where `python -m` puts that folder on sys.path: the same file.
    environment = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    again = subprocess.run(
        [sys.executable, "-m", "archit_codemod", "-o", "../models/again.py", "modify_model.py"],
        cwd=repo / "scripts",
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr
    assert (repo / "models" / "again.py").read_text() == generated


def test_an_output_beside_the_script_imports_the_helper(project, capsys):
    repo, helper = project
    assert main(["-o", "scripts/declared.py", "scripts/modify_model.py"]) == 0, capsys.readouterr().err
    generated = (repo / "scripts" / "declared.py").read_text()
    assert f"from {helper} import Scale" in generated and "class Scale" not in generated


def test_verification_hides_modules_only_the_scripts_folder_provides(project, capsys):
    repo, helper = project
    sys.path.insert(0, str(repo / "scripts"))
    try:
        __import__(helper)
    finally:
        sys.path.remove(str(repo / "scripts"))
    scripts, models = (repo / "scripts").resolve(), (repo / "models").resolve()
    assert beside_script(helper, scripts, models)
    assert not beside_script(helper, scripts, scripts)  # importable from the output's own folder
    assert not beside_script("torch", scripts, models)
    with imported_as_users_will(scripts, models):
        assert helper not in sys.modules
        assert str(scripts) not in sys.path and str(models) in sys.path
        with pytest.raises(ModuleNotFoundError):
            __import__(helper)
    assert helper in sys.modules and str(models) not in sys.path


def test_a_vendor_folder_holds_the_helper_class_in_the_scripts_file(project, capsys):
    repo, helper = project
    assert main(["--mode", "vendor", "-o", "models/vendored", "scripts/modify_model.py"]) == 0, (
        capsys.readouterr()
    )
    [script_file] = (repo / "models" / "vendored").glob("*.py")
    text = script_file.read_text()
    assert helper not in text.replace(f"{helper}.py", "")
    assert text.index("class Scale(") < text.index("class NetModified(")
    assert "self.act = Scale(0.5)" in text
    # From the repository root, with no scripts/ folder on the path, as the folder's users import it.
    completed = _import_as_a_user(
        repo,
        f"from models.vendored.{script_file.stem} import NetModified; model = NetModified(); "
        "print(type(model.act).__name__, float(model.act.factor))",
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "Scale 0.5"
