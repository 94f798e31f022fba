"""Refuse, at import, a transformers release outside the supported range."""

from importlib.metadata import PackageNotFoundError, version

from packaging.version import Version

SUPPORTED_TRANSFORMERS = ">=4.57,<6"
_LOWEST = Version("4.57")
_FIRST_UNSUPPORTED = Version("6")


def check_transformers_version() -> None:
    try:
        installed = Version(version("transformers"))
    except PackageNotFoundError as error:
        raise ImportError(
            f"archit_codemod needs transformers{SUPPORTED_TRANSFORMERS}; it is not installed. "
            f"Fix: pip install 'transformers{SUPPORTED_TRANSFORMERS}'"
        ) from error
    if not (_LOWEST <= installed < _FIRST_UNSUPPORTED):
        raise ImportError(
            f"archit_codemod supports transformers{SUPPORTED_TRANSFORMERS}, but {installed} is installed. "
            f"Fix: pip install 'transformers{SUPPORTED_TRANSFORMERS}'"
        )
