"""Unified diffs for review (``--diff``, ``--check``), coloured like ``git diff`` when shown on a terminal."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["DEV_NULL", "colourize", "unified_diff"]

DEV_NULL = "/dev/null"
"""The label of a side that does not exist (a new file), as ``git diff`` writes it."""

_RESET = "\033[0m"
_COLOURS = (("+++", "\033[1m"), ("---", "\033[1m"), ("@@", "\033[36m"), ("+", "\033[32m"), ("-", "\033[31m"))


def unified_diff(old: str, new: str, old_label: str, new_label: str) -> str:
    """The unified diff from ``old`` to ``new`` ("" when they are equal), with ``git``'s file labels.

    A last line without a newline gets git's ``\\ No newline at end of file`` marker, so the diff stays
    a valid patch.
    """
    if old == new:
        return ""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), old_label, new_label
    )
    return "".join(_terminated(lines))


def _terminated(lines: Iterable[str]) -> Iterable[str]:
    for line in lines:
        if line.endswith("\n"):
            yield line
        else:
            yield line + "\n\\ No newline at end of file\n"


def colourize(diff: str) -> str:
    """``diff`` with ANSI colours: file headers bold, hunk headers cyan, removals red, additions green."""
    coloured = []
    for line in diff.splitlines(keepends=True):
        body = line.rstrip("\n")
        colour = next((code for prefix, code in _COLOURS if body.startswith(prefix)), None)
        coloured.append(line if colour is None else f"{colour}{body}{_RESET}{line[len(body) :]}")
    return "".join(coloured)
