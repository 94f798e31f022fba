"""Importing archit_codemod with a transformers release outside the supported range fails at once, with a
message that names the range, the installed version and the fix."""

from __future__ import annotations

import subprocess
import textwrap

import pytest
from ecosystem_support import PYTHON, pyproject_value, subprocess_environment

from archit_codemod import _version_check
from archit_codemod._version_check import SUPPORTED_TRANSFORMERS, check_transformers_version


def installed_transformers(monkeypatch: pytest.MonkeyPatch, reported: str) -> None:
    real_version = _version_check.version
    monkeypatch.setattr(
        _version_check, "version", lambda name: reported if name == "transformers" else real_version(name)
    )


def test_the_supported_range_is_the_one_pyproject_declares():
    declared = pyproject_value(r'^\s*"transformers([^"]*)",?$')
    assert declared == SUPPORTED_TRANSFORMERS


@pytest.mark.parametrize("reported", ["4.57.0", "4.57.6", "5.0.0", "5.24.0", "5.99.1"])
def test_versions_inside_the_range_are_accepted(monkeypatch, reported):
    installed_transformers(monkeypatch, reported)
    check_transformers_version()


@pytest.mark.parametrize("reported", ["4.49.0", "4.56.2", "6.0.0", "7.1.0"])
def test_versions_outside_the_range_are_refused_with_the_range_and_the_fix(monkeypatch, reported):
    installed_transformers(monkeypatch, reported)
    with pytest.raises(ImportError) as refused:
        check_transformers_version()
    message = str(refused.value)
    assert ">=4.57,<6" in message
    assert reported in message
    assert "pip install 'transformers>=4.57,<6'" in message


def test_a_pre_release_of_the_next_major_version_is_refused(monkeypatch):
    installed_transformers(monkeypatch, "6.0.0rc1")
    with pytest.raises(ImportError):
        check_transformers_version()


def test_missing_transformers_is_refused_with_the_fix(monkeypatch):
    from importlib.metadata import PackageNotFoundError

    def not_installed(name: str) -> str:
        raise PackageNotFoundError(name)

    monkeypatch.setattr(_version_check, "version", not_installed)
    with pytest.raises(ImportError, match=r"not installed.*pip install 'transformers>=4\.57,<6'"):
        check_transformers_version()


def test_import_fails_in_a_fresh_interpreter_with_an_old_transformers():
    """End to end: the check runs when the package is imported, before anything else of it loads."""
    program = textwrap.dedent(
        """
        import importlib.metadata as metadata

        real_version = metadata.version
        metadata.version = lambda name: "4.49.0" if name == "transformers" else real_version(name)
        import archit_codemod
        """
    )
    process = subprocess.run(
        [PYTHON, "-c", program], env=subprocess_environment(), capture_output=True, text=True, timeout=120
    )
    assert process.returncode != 0
    last_line = process.stderr.strip().splitlines()[-1]
    assert last_line.startswith(
        "ImportError: archit_codemod supports transformers>=4.57,<6, but 4.49.0 is installed"
    )
