"""Sources kept only in memory: notebook cells and a REPL's input.

IPython (and so every Jupyter kernel for Python) compiles each cell under a file name of its own
(``/tmp/ipykernel_4139/3359734758.py``, ``<ipython-input-3-...>``) and puts the cell's text in :mod:`linecache`
under that name, as Python's own REPL does from 3.13 (``<python-input-3>``): that is how tracebacks show a cell's
lines. Code compiled from a cell carries the name (``co_filename``), so the methods of a class lead to the cell
that defined it. Code compiled from a string that nothing kept (``exec(text)``, ``python -c``, the REPL before
Python 3.13) has no source to copy.
"""

from __future__ import annotations

import inspect
import linecache
import os
import re
from typing import Any

from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.sources.wrapped import reached_functions

__all__ = ["defining_filename", "in_memory_sources", "in_memory_text", "mentions", "source_not_kept"]


def in_memory_text(filename: str) -> str | None:
    """The text :mod:`linecache` holds for ``filename`` when no file has that name (a cell); ``None`` otherwise."""
    entry = linecache.cache.get(filename)
    # A complete entry is (size, mtime, lines, name); a file read from disk has its mtime, a lazy entry one item.
    if not isinstance(entry, tuple) or len(entry) != 4 or entry[1] is not None:
        return None
    if os.path.exists(filename):
        return None
    return "".join(entry[2])


def in_memory_sources() -> list[str]:
    """The names of the sources :mod:`linecache` holds only in memory, in the order they were first compiled
    (a cell run again unchanged keeps its name and its place)."""
    return [filename for filename in list(linecache.cache) if in_memory_text(filename) is not None]


def defining_filename(obj: Any) -> str | None:
    """The file name the code of ``obj`` (a function, or a class by its own methods) was compiled under; ``None``
    for an object without code of its own (a class whose body defines no function)."""
    if inspect.isclass(obj):
        prefix = f"{obj.__qualname__}."
        for value in vars(obj).values():
            for function in reached_functions(value.fget if isinstance(value, property) else value):
                if inspect.isfunction(function) and function.__qualname__.startswith(prefix):
                    return function.__code__.co_filename
        return None
    code = getattr(inspect.unwrap(obj), "__code__", None) if callable(obj) else None
    return code.co_filename if code is not None else None


def mentions(text: str, name: str) -> bool:
    """Whether ``name`` occurs in ``text`` as a word: a cheap test before parsing a source for it."""
    return re.search(rf"(?<![\w.]){re.escape(name)}\b", text) is not None


def source_not_kept(qualname: str, obj: Any) -> DeclarationError:
    """The refusal for a class or function of an interactive session's ``__main__`` (``qualname``) whose source
    cannot be found, with the reason."""
    filename = defining_filename(obj)
    if filename is None:
        reason = (
            f"no cell defines {getattr(obj, '__name__', obj)!r} at its top level, and it has no method of its own "
            "whose code names the cell it came from"
        )
    else:
        reason = (
            f"its code was compiled from {filename}, whose text Python did not keep (exec() of a string, "
            "`python -c`, or a REPL that does not keep its input, as Python's before 3.13)"
        )
    return DeclarationError(
        f"{qualname} was defined in an interactive session, and its source cannot be found: {reason}. No other "
        "program can import it, and the codemod has no source to copy. Fix: define it with a `class` or `def` "
        "statement in a notebook cell, a script file or a module (and run that cell or script again)."
    )
