"""Follow a decorated function back to the functions it wraps.

A decorator may replace a class's ``__init__`` by a wrapper that runs the original: with ``functools.wraps``
(the original is ``__wrapped__``) or without it (the original is only a cell of the wrapper's closure, as in the
``kernels`` package's ``use_kernelized_func``, which transformers puts on the attention classes of its Llama-family
models). Whichever decorator made it, the function a class body wrote is among the functions the wrapper reaches.
"""

from __future__ import annotations

import functools
import types
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["is_function_like", "layers_between", "reached_functions"]

_MOST_VISITED = 64
"""A bound on the functions visited: a closure may hold unrelated callables, a wrapper never many."""


def reached_functions(function: Callable[..., Any]) -> Iterator[Callable[..., Any]]:
    """``function``, then every function it wraps, nearest first.

    A wrapper reaches the function in its ``__wrapped__`` (``functools.wraps``), the functions in its closure's
    cells (a wrapper that calls the function it closed over), the function of a method or a ``staticmethod``, and
    the function of a ``functools.partial``.
    """
    for reached, _ in _reached_with_depth(function):
        yield reached


def layers_between(wrapper: Callable[..., Any], function: Callable[..., Any]) -> int | None:
    """How many wrappers lie between ``wrapper`` and the ``function`` it reaches (0: it is ``function``);
    ``None`` when it does not reach it."""
    return next((depth for reached, depth in _reached_with_depth(wrapper) if reached is function), None)


def _reached_with_depth(function: Callable[..., Any]) -> Iterator[tuple[Callable[..., Any], int]]:
    queue: deque[tuple[Callable[..., Any], int]] = deque([(function, 0)])
    visited: list[Callable[..., Any]] = []
    while queue and len(visited) < _MOST_VISITED:
        current, depth = queue.popleft()
        if any(current is seen for seen in visited):
            continue
        visited.append(current)
        yield current, depth
        queue.extend((inner, depth + 1) for inner in _wrapped_by(current))


def _wrapped_by(function: Any) -> Iterator[Callable[..., Any]]:
    wrapped = getattr(function, "__wrapped__", None)
    if is_function_like(wrapped):
        yield wrapped
    if isinstance(function, types.MethodType | staticmethod | classmethod):
        yield function.__func__
    if isinstance(function, functools.partial):
        yield function.func
    for cell in getattr(function, "__closure__", None) or ():
        try:
            value = cell.cell_contents
        except ValueError:  # a cell not filled yet
            continue
        if is_function_like(value):
            yield value


def is_function_like(value: Any) -> bool:
    """Whether ``value`` is a function, a method, a ``staticmethod``/``classmethod`` or a ``functools.partial``."""
    return isinstance(
        value,
        types.FunctionType | types.MethodType | staticmethod | classmethod | functools.partial,
    )
