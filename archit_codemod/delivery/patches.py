"""Patches for review: against the output on disk (``--diff``, ``--check``) and against the originals
(``--diff-original``).

A patch against the output is one ``git apply`` accepts: its paths are relative to the root of the git work
tree that holds the output (as ``git diff`` writes them), or to the working folder outside a repository.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

from archit_codemod.declaration.diffing import DEV_NULL, unified_diff

__all__ = ["original_class_diffs", "patch", "patch_path"]

_HUNK = re.compile(r"^@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@", re.MULTILINE)


def _git_root(path: Path) -> Path | None:
    for folder in path.parents:
        if (folder / ".git").exists():
            return folder
    return None


def patch_path(path: Path) -> str:
    """``path`` as a patch names it: relative to its git work tree's root, else to the working folder."""
    absolute = path.absolute()
    base = _git_root(absolute) or Path.cwd()
    try:
        relative = os.path.relpath(absolute, base)
    except ValueError:  # another drive (Windows)
        relative = str(absolute)
    return PurePosixPath(*Path(relative).parts).as_posix()


def patch(changes: Iterable[tuple[Path, str | None, str | None]]) -> str:
    """A patch turning each ``(path, current text or None, new text or None)`` into its new text; ``None`` is
    a file that does not exist (created or deleted by the patch)."""
    parts = []
    for path, current, new in changes:
        name = patch_path(path)
        old_label = f"a/{name}" if current is not None else DEV_NULL
        new_label = f"b/{name}" if new is not None else DEV_NULL
        parts.append(unified_diff(current or "", new or "", old_label, new_label))
    return "".join(parts)


def _shifted(diff: str, old_start: int, new_start: int, context: str) -> str:
    """``diff`` of two excerpts with its hunk line numbers moved to where the excerpts start in their files."""

    def shift(match: re.Match[str]) -> str:
        old, old_count, new, new_count = match.groups()
        return (
            f"@@ -{int(old) + old_start - 1}{old_count or ''} +{int(new) + new_start - 1}{new_count or ''} @@"
            f" {context}"
        )

    return _HUNK.sub(shift, diff)


def _original_label(original: type, function: object) -> str:
    """``transformers/models/bert/modeling_bert.py``: the file of ``function`` (``original``'s ``__init__``) as
    its package names it; a file that is no importable module (the script) by its name."""
    file = Path(getattr(getattr(function, "__code__", None), "co_filename", "") or "<unknown>")
    module = sys.modules.get(getattr(function, "__module__", None) or original.__module__)
    module_file = getattr(module, "__file__", None)
    if module is not None and module_file is not None and Path(module_file).resolve() == file.resolve():
        suffix = "/__init__.py" if file.name == "__init__.py" else ".py"
        return module.__name__.replace(".", "/") + suffix
    return file.name


def original_class_diffs(source: str, original_of: Mapping[str, type], new_name: str) -> str:
    """For each generated class of ``source`` (subclass mode), the change from its original's ``__init__``
    (in the installed sources) to the generated class, with the line numbers of both files."""
    classes = {node.name: node for node in ast.parse(source).body if isinstance(node, ast.ClassDef)}
    lines = source.splitlines(keepends=True)
    parts = []
    for name, original in original_of.items():
        node = classes.get(name)
        if node is None or name == original.__name__:
            continue  # a definition copied as it is, not a generated class
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        new_lines = lines[first - 1 : node.end_lineno]
        init = original.__init__
        try:
            old_lines, old_start = inspect.getsourcelines(init)
        except (OSError, TypeError):
            old_lines, old_start = [], 1
        diff = unified_diff(
            "".join(old_lines), "".join(new_lines), f"a/{_original_label(original, init)}", f"b/{new_name}"
        )
        parts.append(_shifted(diff, old_start, first, f"class {name}({original.__name__})"))
    return "".join(parts)
