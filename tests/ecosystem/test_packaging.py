"""The distribution: ``python -m build`` makes an sdist and a wheel; the wheel installs into a fresh venv
(no access to this checkout) where the console script, ``python -m archit_codemod`` on the README's
example, and ``import archit_codemod`` work.

Marked ``packaging``: the fresh venv installs torch and the dependencies (about 2 minutes).
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from ecosystem_support import REPO_ROOT, pyproject_value
from filelock import FileLock

pytestmark = pytest.mark.packaging

VERSION = pyproject_value(r'^version = "([^"]+)"$')
# The CPU build that scripts/bootstrap.sh installs; an unpinned torch would pull a multi-GB CUDA build.
TORCH_REQUIREMENT = "torch==2.13.0"
README_EXAMPLE = "examples/roberta_word_embeddings.py"


@dataclass(frozen=True)
class Installed:
    wheel: Path
    sdist: Path
    venv: Path
    workdir: Path
    """A folder outside the checkout holding a copy of the README's example."""

    def run(self, *command: str) -> subprocess.CompletedProcess[str]:
        """Run ``command`` with the fresh venv's executables, in ``workdir``, without this checkout on the path."""
        environment = {
            key: value for key, value in os.environ.items() if key not in {"PYTHONPATH", "VIRTUAL_ENV"}
        }
        environment["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{environment.get('PATH', '')}"
        environment["HF_HUB_OFFLINE"] = "1"
        return subprocess.run(
            [str(self.venv / "bin" / command[0]), *command[1:]],
            cwd=self.workdir, env=environment, capture_output=True, text=True, timeout=600,
        )  # fmt: skip


def run(*command: str | Path, cwd: Path) -> None:
    process = subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=900
    )
    assert process.returncode == 0, f"{' '.join(map(str, command))} failed:\n{process.stderr[-5000:]}"


def shared_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of this test session shared by all pytest-xdist workers (so the venv is built once)."""
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker's base is a subfolder of the session's; without xdist it is the session's.
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "packaging"


def build_and_install(root: Path) -> Installed:
    dist = root / "dist"
    # Build from a copy: `build` writes build/ and *.egg-info/ next to the sources.
    source = root / "source"
    shutil.copytree(
        REPO_ROOT, source,
        ignore=shutil.ignore_patterns(".venv*", ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache"),
    )  # fmt: skip
    run(sys.executable, "-m", "build", "--outdir", dist, source, cwd=root)
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")

    venv = root / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=root)
    run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", TORCH_REQUIREMENT, cwd=root)
    run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel, cwd=root)

    workdir = root / "work"
    (workdir / "examples").mkdir(parents=True)
    shutil.copy(REPO_ROOT / README_EXAMPLE, workdir / README_EXAMPLE)
    return Installed(wheel=wheel, sdist=sdist, venv=venv, workdir=workdir)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    # The build frontend comes with the dev extra; a venv without it (the transformers 4.57 one) cannot build.
    pytest.importorskip("build", reason="python -m build needs the dev extra: pip install -e '.[dev]'")
    root = shared_folder(tmp_path_factory)
    with FileLock(f"{root}.lock"):
        if (root / "installed").exists():
            return Installed(
                wheel=next((root / "dist").glob("*.whl")), sdist=next((root / "dist").glob("*.tar.gz")),
                venv=root / "venv", workdir=root / "work",
            )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)  # what a failed attempt left behind
        root.mkdir(parents=True)
        installed = build_and_install(root)
        (root / "installed").touch()
        return installed


def test_wheel_holds_the_package_with_py_typed_and_its_console_script(installed):
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
        dist_info = f"archit_codemod-{VERSION}.dist-info"
        entry_points = wheel.read(f"{dist_info}/entry_points.txt").decode()
        metadata = wheel.read(f"{dist_info}/METADATA").decode()
    assert "archit_codemod/py.typed" in names
    assert {
        "archit_codemod/cli/__init__.py",
        "archit_codemod/delivery/write.py",
        "archit_codemod/declaration/tracing/tracer.py",
        "archit_codemod/instantiation/tasks/lm.py",
    } <= names
    # Only the package: no tests, examples or golden files in site-packages.
    assert {name.split("/")[0] for name in names} == {"archit_codemod", dist_info}
    assert re.search(r"^archit-codemod = archit_codemod\.cli:main$", entry_points, re.MULTILINE)
    requirements = set(re.findall(r"^Requires-Dist: (\S+)$", metadata, re.MULTILINE))
    assert "transformers<6,>=4.57" in requirements


def test_sdist_holds_the_sources_py_typed_and_the_readme(installed):
    with tarfile.open(installed.sdist) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {"pyproject.toml", "README.md", "archit_codemod/py.typed", "archit_codemod/__main__.py"} <= names


def test_console_script_prints_the_version(installed):
    process = installed.run("archit-codemod", "--version")
    assert process.returncode == 0, process.stderr
    assert process.stdout.strip() == f"archit-codemod {VERSION}"


def test_import_comes_from_the_installed_wheel(installed):
    process = installed.run(
        "python", "-c", "import archit_codemod, importlib.metadata as m; "
        "print(archit_codemod.__file__); print(archit_codemod.__version__); print(m.version('archit_codemod'))",
    )  # fmt: skip
    assert process.returncode == 0, process.stderr
    location, version, distribution_version = process.stdout.split()
    assert Path(location).is_relative_to(installed.venv)
    assert version == distribution_version == VERSION


def test_readme_example_runs_with_python_m(installed):
    process = installed.run("python", "-m", "archit_codemod", README_EXAMPLE)
    assert process.returncode == 0, process.stderr
    classes = {node.name for node in ast.parse(process.stdout).body if isinstance(node, ast.ClassDef)}
    assert {"RobertaEmbeddingsModified", "RobertaModelModified", "RobertaForMaskedLMModified"} <= classes
