"""What a generated file says about where it came from, independent of the working folder.

The header of a generated file names the script and lists, per generated class, where the class is used and
which traced statement made it necessary::

    #   model.roberta.embeddings: RobertaEmbeddings -> RobertaEmbeddingsModified (modify.py:58)

Paths in it are relative to a *base* folder that depends only on where the files are, never on the working
folder or on how a path was typed: the repository root (the nearest folder with ``.git`` or ``pyproject.toml``)
above the output when the script lies inside it, else the script's own repository root; outside of any
repository only file names are shown. Separators are ``/``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from archit_codemod.declaration.sources.session import in_memory_text

__all__ = ["ClassUse", "Provenance", "change_lines", "compact_paths", "repository_root"]

_REPOSITORY_MARKERS = (".git", "pyproject.toml")

ClassUse = tuple[str, str, str, str]
"""``(module path, original class, generated class, location)``: one instance of a generated class, and the
statement (``file:line``) of a traced change at or below it."""


def repository_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` that holds ``.git`` or ``pyproject.toml``; ``None`` if none."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if any((folder / marker).exists() for marker in _REPOSITORY_MARKERS):
            return folder
    return None


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def _posix_relative(path: Path, base: Path) -> str | None:
    try:
        return PurePosixPath(*Path(os.path.relpath(path, base)).parts).as_posix()
    except ValueError:  # another drive (Windows)
        return None


@dataclass(frozen=True)
class Provenance:
    """How the header shows the script and the other files it names, and where the output is imported from.

    ``base`` is the folder paths are shown relative to; without one (the Python API, which writes no file)
    only file names are shown. ``output_folder`` is the folder the generated module will be imported from
    (``None`` when unknown: standard output, the Python API).
    """

    script: Path | None = None
    base: Path | None = None
    output_folder: Path | None = None

    @classmethod
    def for_output(cls, script: Path, output_folder: Path | None) -> Provenance:
        """The provenance of a generation of ``script`` written into ``output_folder`` (``None``: standard
        output).

        Paths are shown relative to the repository root above the output when the script lies inside it;
        else relative to the script's own repository root; outside any repository, by file name only.
        """
        script = script.resolve()
        base = None
        for start in ([output_folder] if output_folder is not None else []) + [script.parent]:
            root = repository_root(start)
            if root is not None and _inside(script, root):
                base = root
                break
        return cls(script=script, base=base, output_folder=output_folder.resolve() if output_folder else None)

    def script_label(self) -> PurePosixPath | None:
        """The script's path as the header shows it (``scripts/modify_model.py``)."""
        if self.script is None:
            return None
        if self.base is not None and _inside(self.script, self.base):
            return PurePosixPath(_posix_relative(self.script, self.base))
        return PurePosixPath(self.script.name)

    def location(self, filename: str, line: int) -> str:
        """``file:line`` for a traced statement: the script by its file name, a file below the base folder by
        its relative path, any other file (an installed library) by its name; a notebook cell (a source kept only
        in memory) as ``cell``, since the name its kernel gives it depends on the kernel (and on the cell's
        execution count, for some)."""
        if in_memory_text(filename) is not None:
            return f"cell:{line}"
        path = Path(filename)
        if not path.is_absolute():
            return f"{path.name or filename}:{line}"
        path = path.resolve()
        if self.script is not None and path == self.script:
            return f"{path.name}:{line}"
        if self.base is not None and _inside(path, self.base):
            return f"{_posix_relative(path, self.base)}:{line}"
        return f"{path.name}:{line}"


def change_lines(uses: Sequence[ClassUse]) -> list[str]:
    """The header's list, one line per generated class: ``paths: Original -> Generated (locations)``.

    Instances that differ only in list indices share one path (``layer.{0..11}.attention``); locations in one
    file share its name (``modify.py:12,14``).
    """
    grouped: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    for path, original, generated, location in uses:
        paths, locations = grouped.setdefault((original, generated), ([], []))
        paths.append(path)
        locations.append(location)
    lines = []
    for (original, generated), (paths, locations) in grouped.items():
        where = _compact_locations([location for location in locations if location])
        line = f"{', '.join(compact_paths(paths))}: {original} -> {generated}"
        lines.append(f"{line} ({where})" if where else line)
    return lines


def _natural_key(text: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def _ranges(numbers: Sequence[int]) -> str:
    """``0..3,7``: runs of three or more consecutive numbers as ranges."""
    parts, run = [], [numbers[0]]
    for number in numbers[1:]:
        if number == run[-1] + 1:
            run.append(number)
            continue
        parts.append(run)
        run = [number]
    parts.append(run)
    shown = []
    for run in parts:
        shown.extend([f"{run[0]}..{run[-1]}"] if len(run) >= 3 else [str(number) for number in run])
    return ",".join(shown)


def compact_paths(paths: Sequence[str]) -> list[str]:
    """``paths`` in order of appearance, those that differ only in one index segment merged:
    ``["a.0.b", "a.1.b", "a.2.b"]`` -> ``["a.{0..2}.b"]``."""
    unique = list(dict.fromkeys(paths))
    groups: dict[tuple[str, ...], list[int]] = {}
    order: list[tuple[str, ...]] = []
    for path in unique:
        parts = path.split(".")
        indices = [i for i, part in enumerate(parts) if part.isdigit()]
        if not indices:
            key: tuple[str, ...] = (path,)
        else:
            # The last index varies fastest in a stack of layers.
            at = indices[-1]
            key = (*parts[:at], "\0", *parts[at + 1 :])
        if key not in groups:
            groups[key] = []
            order.append(key)
        if "\0" in key:
            groups[key].append(int(path.split(".")[key.index("\0")]))
    shown = []
    for key in order:
        if "\0" not in key:
            shown.append(key[0])
            continue
        numbers = sorted(set(groups[key]))
        value = str(numbers[0]) if len(numbers) == 1 else "{" + _ranges(numbers) + "}"
        shown.append(".".join(value if part == "\0" else part for part in key))
    return shown


def _compact_locations(locations: Sequence[str]) -> str:
    by_file: dict[str, list[str]] = {}
    for location in locations:
        file, _, line = location.rpartition(":")
        if line not in by_file.setdefault(file, []):
            by_file[file].append(line)
    return ", ".join(
        f"{file}:{','.join(sorted(lines, key=_natural_key))}" for file, lines in sorted(by_file.items())
    )
