"""Modules beside the script: importable while the script ran, but not where the generated file is imported.

A script run as ``python scripts/modify_model.py`` has its own folder first on ``sys.path``, so
``from helpers import Scale`` finds ``scripts/helpers.py``. The generated file is imported from elsewhere
(``from models.declared import ...``), where ``helpers`` does not resolve. Such a module is *beside the
script*: its definitions are copied into the generated file, as the script's own are, unless the module is
importable from the output's folder or from the ordinary ``sys.path`` (installed, or on ``PYTHONPATH``).

:func:`imported_as_users_will` sets up the import system that way for verification, so that a generated file
that still imports such a module fails there instead of in the user's hands.
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import os
import sys
from collections.abc import Iterator
from pathlib import Path

__all__ = ["beside_script", "imported_as_users_will"]


def _file_of(module_name: str) -> Path | None:
    module = sys.modules.get(module_name)
    file = getattr(module, "__file__", None)
    return Path(file).resolve() if isinstance(file, str) else None


def _file_inside(module_name: str, folder: Path) -> bool:
    """Whether the module's file lies in ``folder`` (a resolved path, as ``sys.path[0]`` was while the script
    ran, so a plain prefix test suffices: resolving thousands of module paths is slow)."""
    file = getattr(sys.modules.get(module_name), "__file__", None)
    return isinstance(file, str) and file.startswith(str(folder) + os.sep)


def _search_path(output_folder: Path | None) -> list[str]:
    """``sys.path`` as the generated file's users have it: the output's folder in place of ``sys.path[0]``.

    ``sys.path[0]`` is the entry the script's folder replaced while the script ran (the working folder under
    ``python -m``, the console script's folder): it is neither where users import from nor independent of
    the working folder. Every other entry (site-packages, ``PYTHONPATH``, an editable install) stays.
    """
    return ([str(output_folder)] if output_folder is not None else []) + sys.path[1:]


def _found_at(top: str, search: list[str]) -> Path | None:
    """The file ``import top`` would load with ``search`` as ``sys.path`` (other finders, such as editable
    installs, asked as they are)."""
    for finder in sys.meta_path:
        if finder is importlib.machinery.PathFinder:
            spec = importlib.machinery.PathFinder.find_spec(top, search)
        else:
            find_spec = getattr(finder, "find_spec", None)
            try:
                spec = find_spec(top, None) if find_spec is not None else None
            except Exception:  # a third-party finder that cannot answer does not find it
                spec = None
        if spec is not None:
            return Path(spec.origin).resolve() if spec.origin not in (None, "built-in", "frozen") else None
    return None


def beside_script(module_name: str, script_folder: Path | None, output_folder: Path | None) -> bool:
    """Whether ``module_name`` (imported while the script ran) is importable only from the script's folder.

    ``output_folder`` is where the generated file will be imported from (``None`` when unknown).
    """
    if script_folder is None:
        return False
    script_folder = script_folder.resolve()
    if not _file_inside(module_name, script_folder):
        return False
    return not _importable(module_name.partition(".")[0], tuple(_search_path(output_folder)))


def _importable(top: str, search: tuple[str, ...]) -> bool:
    """Whether ``import top`` with ``search`` as ``sys.path`` loads the module already imported as ``top``."""
    found = _found_at(top, list(search))
    return found is not None and found == _file_of(top)


@contextlib.contextmanager
def imported_as_users_will(script_folder: Path | None, output_folder: Path | None) -> Iterator[None]:
    """While the block runs, imports resolve as for the generated file's users: the output's folder on
    ``sys.path`` instead of the script's, and the modules :func:`beside_script` hidden from ``sys.modules``.

    Everything is restored afterwards, and modules first imported inside the block from the script's folder
    are forgotten.
    """
    if script_folder is None:
        yield
        return
    script_folder = script_folder.resolve()
    search = tuple(_search_path(output_folder))
    importable: dict[str, bool] = {}
    hidden = {}
    for name, module in list(sys.modules.items()):
        if module is None or not _file_inside(name, script_folder):
            continue
        top = name.partition(".")[0]
        if top not in importable:
            importable[top] = _importable(top, search)
        if not importable[top]:
            hidden[name] = module
    saved_path = sys.path[:]
    before = set(sys.modules)
    for name in hidden:
        del sys.modules[name]
    sys.path[:] = list(search)
    try:
        yield
    finally:
        sys.path[:] = saved_path
        for name in set(sys.modules) - before:
            if _file_inside(name, script_folder):
                del sys.modules[name]
        sys.modules.update(hidden)
