"""Which golden file a test compares with, per transformers release.

The generated code copies transformers' own source (``__init__`` bodies, whole vendored modeling files), so it
follows the installed release. ``golden/<example>/subclass.py`` and ``golden/<example>/vendor/`` hold the output
with the release named in ``golden/RELEASE`` (the newest the goldens were written with). An older release whose
output differs has its own variant, named by the release: ``subclass-4.57.py``, ``vendor-5.24/``. A release
compares with the variant of the oldest release not older than itself, else with the main files: 5.24 with
``-5.24``, 4.57 with ``-4.57`` (or ``-5.24`` when 4.57 has none), 5.25 with the main files.

``pytest --regen-golden`` on a release newer than ``golden/RELEASE`` keeps the previous main files as that
release's variant where the output changed, and writes the new ones as the main files; on an older release it
writes that release's variant only where the output differs from the one it would compare with otherwise.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import transformers
from packaging.version import Version

GOLDEN_DIR = Path(__file__).resolve().parents[2] / "golden"
RELEASE_FILE = GOLDEN_DIR / "RELEASE"


def release_of(version: str) -> Version:
    """The ``major.minor`` release of a version string (``5.25.0`` -> ``5.25``)."""
    return Version(".".join(version.split(".")[:2]))


INSTALLED = release_of(transformers.__version__)


MAIN_RELEASE = (
    release_of(RELEASE_FILE.read_text(encoding="utf-8").strip()) if RELEASE_FILE.exists() else INSTALLED
)
"""The release the main files were written with, read once when the tests start (a regeneration rewrites it)."""


def _variant(main: Path, release: Version) -> Path:
    """``subclass.py`` -> ``subclass-5.24.py``; ``vendor`` -> ``vendor-5.24``."""
    return main.with_name(f"{main.stem}-{release}{main.suffix}")


def _variants(main: Path) -> dict[Version, Path]:
    found = {}
    for path in main.parent.glob(f"{main.stem}-*{main.suffix}"):
        suffix = path.name[len(main.stem) + 1 : len(path.name) - len(main.suffix) or None]
        found[Version(suffix)] = path
    return found


def golden_for(main: Path, release: Version = INSTALLED) -> Path:
    """The golden file or folder ``release`` compares with, for the main file or folder ``main``."""
    newer_or_same = sorted(version for version in _variants(main) if version >= release)
    return _variants(main)[newer_or_same[0]] if newer_or_same else main


def write_golden(main: Path, write, same_as) -> Path:
    """Store the installed release's output for ``main`` (see the module docstring).

    ``write(path)`` writes the output at ``path`` (a file or a folder); ``same_as(path)`` says whether what is at
    ``path`` is that output.
    """
    main.parent.mkdir(parents=True, exist_ok=True)
    if INSTALLED >= MAIN_RELEASE:
        previous = _variant(main, MAIN_RELEASE)
        if INSTALLED > MAIN_RELEASE and main.exists() and not same_as(main) and not previous.exists():
            main.rename(previous)
        _remove(main)
        write(main)
        RELEASE_FILE.write_text(f"{INSTALLED}\n", encoding="utf-8")
        return main
    variant = _variant(main, INSTALLED)
    _remove(variant)
    if same_as(golden_for(main)):
        return golden_for(main)
    write(variant)
    return variant


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
