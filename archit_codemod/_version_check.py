"""Refuse, at import, a transformers release outside the supported range."""

from importlib.metadata import PackageNotFoundError, version

from packaging.specifiers import SpecifierSet
from packaging.version import Version

SUPPORTED_TRANSFORMERS = ">=4.57,<6"


def check_transformers_version() -> None:
    fix = f"Fix: pip install 'transformers{SUPPORTED_TRANSFORMERS}'"
    try:
        installed = Version(version("transformers"))
    except PackageNotFoundError as error:
        raise ImportError(
            f"archit_codemod needs transformers{SUPPORTED_TRANSFORMERS}; it is not installed. {fix}"
        ) from error
    # prereleases=True so that 6.0.0rc1 is judged by its number (and refused), not skipped as a pre-release.
    if not SpecifierSet(SUPPORTED_TRANSFORMERS).contains(installed, prereleases=True):
        raise ImportError(
            f"archit_codemod supports transformers{SUPPORTED_TRANSFORMERS}, but {installed} is installed. {fix}"
        )
