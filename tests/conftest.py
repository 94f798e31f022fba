"""Shared pytest configuration: options and fixtures used by both halves' tests."""

import os

import pytest
from hypothesis import HealthCheck, settings

# Property-based tests stay bounded in CI; `pytest --hypothesis-profile long` explores further.
_HYPOTHESIS_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("ci", max_examples=60, **_HYPOTHESIS_COMMON)
settings.register_profile("long", max_examples=2000, **_HYPOTHESIS_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--regen-golden",
        action="store_true",
        default=False,
        help="Rewrite the expected files in golden/ from the current codemod output instead of comparing.",
    )


@pytest.fixture
def regen_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--regen-golden"))
