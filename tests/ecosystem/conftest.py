"""Markers of the ecosystem tests."""

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "packaging: builds the sdist and wheel and installs the wheel into a fresh venv (about 2 minutes, "
        "needs PyPI); deselect with -m 'not packaging'",
    )
