"""Decorators that register a definition in its library's registry at import, left out of vendored copies.

torchvision's model files decorate each builder with ``@register_model()``, which puts it into
``torchvision.models._api.BUILTIN_MODELS`` and refuses a name registered already; timm's ``@register_model`` puts it
into ``timm.models._registry``'s tables and replaces what is there. A vendored copy of such a file, imported beside
the installed library (by verification, by the user, by ``trust_remote_code``), registers every builder again: the
import fails, or every later ``timm.create_model`` in the process builds the vendored classes. The declared model
needs none of it: the builders stay defined in the copy, and the installed library's registry keeps its own.

A decorator registers when, once the original module was imported, a container (a dict, list, set or tuple) that
the decorator keeps state in holds the very object the module binds under the decorated name, and the file imports
the decorator (a registry the file makes itself is made again by the copy, and conflicts with nothing). Where the
decorator keeps state is read from the live decorator: its module's globals (``BUILTIN_MODELS`` beside
``register_model``), the object it is a method of (a ``Registry`` instance's table), its own attributes and closure
cells (``functools.singledispatch``'s ``register``). No library is named here: the registry is found, not listed.
"""

from __future__ import annotations

import sys
import textwrap
import types
from collections.abc import Iterator
from typing import Any

import libcst as cst
from libcst.metadata import ImportAssignment

from archit_codemod.declaration.editing.layout import LINE_LENGTH
from archit_codemod.declaration.sources.locate import ParsedSource

__all__ = ["DropRegistrations", "registering_decorators"]


def registering_decorators(parsed: ParsedSource) -> dict[cst.Decorator, str]:
    """Each decorator of a top-level definition of ``parsed`` that registered it at import -> the registry, named
    (``torchvision.models._api.BUILTIN_MODELS``)."""
    module = sys.modules.get(parsed.module_name)
    if module is None:
        return {}
    found = {}
    for statement in parsed.module.body:
        if not isinstance(statement, cst.FunctionDef | cst.ClassDef) or not statement.decorators:
            continue
        bound = vars(module).get(statement.name.value)
        if bound is None:
            continue
        for decorator in statement.decorators:
            if not _imported(decorator.decorator, parsed):
                continue  # defined by the file itself: the copy keeps a registry of its own
            callable_ = _resolve(decorator.decorator, vars(module))
            if callable_ is None:
                continue
            registry = _registry_holding(callable_, bound)
            if registry is not None:
                found[decorator] = registry
    return found


class DropRegistrations(cst.CSTTransformer):
    """Leave out the registering decorators (original nodes, found by identity) and say so above the definition."""

    def __init__(self, registering: dict[cst.Decorator, str]) -> None:
        super().__init__()
        self.registering = registering

    def leave_Decorator(
        self, original_node: cst.Decorator, updated_node: cst.Decorator
    ) -> cst.Decorator | cst.RemovalSentinel:
        return cst.RemoveFromParent() if original_node in self.registering else updated_node

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        return self._noted(original_node, updated_node)

    def leave_ClassDef(self, original_node: cst.ClassDef, updated_node: cst.ClassDef) -> cst.ClassDef:
        return self._noted(original_node, updated_node)

    def _noted(self, original_node: Any, updated_node: Any) -> Any:
        dropped = [d for d in original_node.decorators if d in self.registering]
        if not dropped:
            return updated_node
        module = cst.Module([])
        notes = [
            f"archit_codemod: @{module.code_for_node(d.decorator)} left out: it registers "
            f"{original_node.name.value} in {self.registering[d]}, which the installed library fills."
            for d in dropped
        ]
        lines = [line for note in notes for line in textwrap.wrap(note, LINE_LENGTH - 2)]
        comments = [cst.EmptyLine(comment=cst.Comment(f"# {line}")) for line in lines]
        return updated_node.with_changes(leading_lines=[*updated_node.leading_lines, *comments])


def _resolve(expression: cst.BaseExpression, namespace: dict[str, Any]) -> Any:
    """The live object a decorator expression calls: ``register_model`` for ``@register_model()``,
    ``MODELS.register_module`` for ``@MODELS.register_module()``; ``None`` for any other form."""
    if isinstance(expression, cst.Call):
        expression = expression.func
    if isinstance(expression, cst.Name):
        return namespace.get(expression.value)
    if isinstance(expression, cst.Attribute):
        owner = _resolve(expression.value, namespace)
        return getattr(owner, expression.attr.value, None) if owner is not None else None
    return None


def _imported(expression: cst.BaseExpression, parsed: ParsedSource) -> bool:
    """Whether the name a decorator expression starts from (``MODELS`` in ``@MODELS.register_module()``) is bound
    by imports only in the file: the copy then shares the registry with the installed library. A registry the file
    makes itself is made again by the copy, and registering there conflicts with nothing (the file may read it)."""
    while isinstance(expression, cst.Call | cst.Attribute):
        expression = expression.func if isinstance(expression, cst.Call) else expression.value
    if not isinstance(expression, cst.Name):
        return False
    scope = parsed.global_scope
    bindings = [a for a in scope[expression.value] if a.scope is scope]
    return bool(bindings) and all(isinstance(a, ImportAssignment) for a in bindings)


def _registry_holding(callable_: Any, bound: Any) -> str | None:
    """The name of a container where ``callable_`` keeps state that holds ``bound`` (or what it wraps)."""
    candidates = list(_wrapped_chain(bound))
    for where, namespace in _state_of(callable_):
        for name, value in namespace.items():
            if _holds(value, candidates):
                return f"{where}.{name}"
    return None


def _state_of(callable_: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Where a decorator keeps state, named: the object it is a method of, its own attributes and closure cells, and
    its module's globals."""
    function = getattr(callable_, "__func__", callable_)
    owner = getattr(callable_, "__self__", None)
    if owner is not None and not isinstance(owner, types.ModuleType) and hasattr(owner, "__dict__"):
        yield f"{type(owner).__qualname__} object", vars(owner)
    if hasattr(function, "__dict__"):
        yield getattr(function, "__qualname__", "decorator"), vars(function)
    cells = getattr(function, "__closure__", None) or ()
    names = getattr(getattr(function, "__code__", None), "co_freevars", ())
    closure = {}
    for name, cell in zip(names, cells, strict=False):
        try:
            closure[name] = cell.cell_contents
        except ValueError:  # an empty cell
            continue
    if closure:
        yield getattr(function, "__qualname__", "decorator"), closure
    module = sys.modules.get(getattr(function, "__module__", None) or "")
    if module is not None:
        yield module.__name__, vars(module)


def _holds(value: Any, candidates: list[Any]) -> bool:
    if isinstance(value, dict):
        items = [*value.values(), *value.keys()]
    elif isinstance(value, list | set | tuple | frozenset):
        items = list(value)
    else:
        return False
    return any(item is candidate for item in items for candidate in candidates)


_MAX_WRAPPERS = 10


def _wrapped_chain(obj: Any) -> Iterator[Any]:
    """``obj``, then what it wraps (``__wrapped__``), and so on (a few levels: a wrapper may wrap itself)."""
    for _ in range(_MAX_WRAPPERS):
        if obj is None:
            return
        yield obj
        obj = getattr(obj, "__wrapped__", None)
