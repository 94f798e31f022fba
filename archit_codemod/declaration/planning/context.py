"""What every planning decision reads: the trace and its net changes, the script, the names, the renderer.

One :class:`Planning` exists per run, built whole, as a ``CodemodContext`` exists for a LibCST codemod: decisions are
plain functions that take it and return values. It also builds the
:class:`~archit_codemod.declaration.rendering.render.RenderContext` of an expression: what the expression can refer
to inside the ``__init__`` it goes into.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import libcst as cst
import libcst.matchers as m
import torch
from torch import nn

from archit_codemod.declaration.planning.naming import ClassNamer
from archit_codemod.declaration.planning.statements import InitStatements
from archit_codemod.declaration.planning.walk import Dirty
from archit_codemod.declaration.records import ConstructorCall, LibraryCall, SettingChange, Trace
from archit_codemod.declaration.rendering.names import NameTable
from archit_codemod.declaration.rendering.rebuild import read_back
from archit_codemod.declaration.rendering.render import (
    OriginalArgument,
    RenderContext,
    Renderer,
    parameter_sizes,
)
from archit_codemod.declaration.script import ScriptSource
from archit_codemod.declaration.sources.inline import InitCopy
from archit_codemod.declaration.sources.locate import ClassSource, locate_class
from archit_codemod.declaration.tracing.changes import Change, Changes, is_container

_PRIMITIVES = (bool, int, float, str, bytes, type(None))


@dataclass(frozen=True)
class AfterInitOfRoot:
    """What a root's generated class does once its ``__init__`` is done."""

    replays: tuple[LibraryCall, ...] = ()
    """The library calls it makes again."""
    deferred: tuple[tuple[str, Change], ...] = ()
    """The replacements it makes after ``post_init``, which would change them (path from the root, change)."""
    settings: tuple[SettingChange, ...] = ()
    """The settings and attributes it sets again."""


@dataclass(frozen=True)
class Planning:
    """What every decision of one run reads (see the module docstring). The classes planned so far are the
    ``namer``'s, which grows as the modules are planned, children first; the rest does not change.

    It answers the renderer's questions about the traced modules
    (:class:`~archit_codemod.declaration.rendering.render.TracedModules`).
    """

    trace: Trace
    script: ScriptSource
    changes: Changes
    """The changes the generated ``__init__`` methods make (by owner)."""
    tie_changes: Changes
    """The changes that what the generated model classes say about ties follows (with the deferred ones)."""
    dirty: Dirty
    names: NameTable
    namer: ClassNamer
    after_init: Mapping[nn.Module, AfterInitOfRoot] = field(default_factory=dict)
    """Root -> what its generated class does after its ``__init__``."""
    model_dtypes: Mapping[nn.Module, torch.dtype] = field(default_factory=dict)
    """Module -> the main floating-point dtype of the root it is in."""
    _sources: dict[type, ClassSource] = field(default_factory=dict, compare=False, repr=False)
    """Located once per class (a cache)."""
    _statements: dict[tuple[cst.FunctionDef, ...], InitStatements] = field(
        default_factory=dict, compare=False, repr=False
    )
    """Read once per copied ``__init__`` (a cache: every layer copies the same)."""
    _read_back: dict[nn.Module, ConstructorCall | None] = field(
        default_factory=dict, compare=False, repr=False
    )
    """The call each module whose tensors changed after its construction is built with now (a cache)."""

    @functools.cached_property
    def renderer(self) -> Renderer:
        return Renderer(self.names, self)

    # -- what the renderer asks ---------------------------------------------------------------------------

    def name_of(self, module: nn.Module) -> str | None:
        return self.namer.name_of(module)

    def changed(self, module: nn.Module) -> bool:
        return self.dirty(module)

    def model_dtype(self, module: nn.Module) -> torch.dtype | None:
        return self.model_dtypes.get(module)

    # -- lookups -------------------------------------------------------------------------------------------

    def source(self, cls: type) -> ClassSource:
        """Where ``cls``'s ``__init__`` is written (located once per class)."""
        if cls not in self._sources:
            self._sources[cls] = locate_class(cls, self.script)
        return self._sources[cls]

    def statements(self, copy: InitCopy) -> InitStatements:
        """The statements of a copied ``__init__``, read once for every module that copies it (every layer)."""
        key = tuple(fragment.init_def for fragment in copy.fragments)
        if key not in self._statements:
            self._statements[key] = InitStatements(copy)
        return self._statements[key]

    def call_of(self, module: nn.Module | None) -> ConstructorCall | None:
        """The constructor call that built ``module``; for a deep copy, the copied module's, with the copy's own
        settings (``layer_idx``) where they differ. A module whose tensors were replaced after it was built (a
        copy a library fused a norm into) is built by the call its attributes give, when they read back."""
        if module is None:
            return None
        if module in self._tensors_changed_later:
            if module not in self._read_back:
                arguments = read_back(module)
                self._read_back[module] = (
                    ConstructorCall(type(module), *arguments, filename="<read back>", lineno=0)
                    if arguments
                    else None
                )
            if self._read_back[module] is not None:
                return self._read_back[module]
        call = self.trace.call_of(module)
        if call is not None:
            return call
        original = self.trace.copied_from(module)
        origin = self.trace.call_of(original) if original is not None else None
        return as_built_for(origin, original, module) if origin is not None else None

    @functools.cached_property
    def _tensors_changed_later(self) -> frozenset[nn.Module]:
        """The modules a parameter or buffer was registered on after their construction."""
        return frozenset(
            effect.owner for effect in self.trace.effects if effect.kind in ("parameter", "buffer")
        )

    def builder_of(self, module: nn.Module) -> nn.Module | None:
        """The module whose ``__init__`` built ``module``, as the tracer recorded it, looking through containers: an
        item of ``nn.ModuleList(Block(...) for ...)`` is built while the list's ``__init__`` consumes the generator."""
        call = self.trace.call_of(module)
        builder = call.parent if call is not None else None
        while builder is not None and is_container(builder):
            call = self.trace.call_of(builder)
            builder = call.parent if call is not None else None
        return builder

    # -- render contexts -----------------------------------------------------------------------------------

    def context(self, owner: nn.Module, path: str) -> RenderContext:
        """What an expression inside ``owner``'s ``__init__`` can refer to: the parameters of that ``__init__``."""
        parameters: list[tuple[Any, str]] = []
        call = self.call_of(owner)
        bound = call.bound() if call is not None else None
        if bound is not None:
            signature = bound.signature.parameters
            for parameter, value in bound.arguments.items():
                kind = signature[parameter].kind
                if kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
                    continue
                if not isinstance(value, _PRIMITIVES):
                    parameters.append((value, parameter))
        else:
            # No recorded call (the model was built before tracing): the config is the usual argument.
            config = getattr(owner, "config", None)
            try:
                signature = inspect.signature(type(owner)).parameters
            except (TypeError, ValueError):
                signature = {}
            if config is not None and "config" in signature:
                parameters.append((config, "config"))
        return RenderContext(path=path, owner=type(owner).__qualname__, parameters=parameters)

    def replacing_context(
        self,
        owner: nn.Module,
        path: str,
        old: nn.Module | None,
        original: cst.BaseExpression,
        source: ClassSource,
        new: nn.Module | None = None,
    ) -> RenderContext:
        """The context of replacing ``old`` (built by ``original`` in ``owner``'s ``__init__``) by ``new``."""
        context = self.context(owner, path)
        if old is None:
            return context
        call = find_call_of(original, type(old), source)
        context = dataclasses.replace(
            context, replaced=old, replaced_expression=call if call is not None else original, replacement=new
        )
        if call is not None and new is not None and not self._wraps(new, old):
            # A wrapper gets its sizes from the module it wraps; matching its other arguments (r=32) to the
            # wrapped module's sizes (hidden_size=32) would only find coincidences.
            context = dataclasses.replace(
                context,
                original_arguments=self._original_arguments(old, call),
                replaced_sizes=parameter_sizes(old),
            )
        return context

    def _wraps(self, new: nn.Module, old: nn.Module) -> bool:
        """Whether ``new`` was built with ``old`` as one of its arguments."""
        call = self.call_of(new)
        if call is None:
            return False
        return any(value is old for value in [*call.args, *call.kwargs.values()])

    def _original_arguments(self, old: nn.Module, call: cst.Call) -> list[OriginalArgument]:
        """Each argument ``old`` was built with: parameter, position, live value and source expression."""
        if any(arg.star for arg in call.args):
            return []
        positional = [arg.value for arg in call.args if arg.keyword is None]
        try:
            signature = inspect.signature(type(old))
            nodes = signature.bind_partial(
                *positional, **{arg.keyword.value: arg.value for arg in call.args if arg.keyword is not None}
            ).arguments
        except (TypeError, ValueError):
            return []
        recorded = self.call_of(old)
        bound = recorded.bound() if recorded is not None else None
        values = dict(bound.arguments) if bound is not None else {}
        found = []
        for parameter, node in nodes.items():
            if not isinstance(node, cst.BaseExpression):
                continue
            if parameter in values:
                value = values[parameter]
            elif hasattr(old, parameter):
                value = getattr(old, parameter)
            else:
                continue
            if type(value) in (bool, int, float, str):
                position = next((i for i, passed in enumerate(positional) if passed is node), None)
                found.append(OriginalArgument(parameter, position, value, node))
        return found


def as_built_for(call: ConstructorCall, original: nn.Module, copy: nn.Module) -> ConstructorCall:
    """``call`` (which built ``original``) with each plain argument that ``copy`` holds differently changed.

    An argument stands for the attributes of the same name that hold its value in ``original``'s modules
    (``LlamaDecoderLayer(config, layer_idx=0)`` -> ``self_attn.layer_idx == 0``); when all of them hold another
    value in ``copy``, that value is the copy's argument.
    """
    bound = call.bound()
    if bound is None:
        return call
    changed = False
    for parameter, value in bound.arguments.items():
        if type(value) not in (bool, int, float, str):
            continue
        held = {getattr(c, parameter) for _, o, c in _pairs(original, copy) if _holds(o, parameter, value)}
        if len(held) == 1 and (new := held.pop()) != value:
            bound.arguments[parameter] = new
            changed = True
    if not changed:
        return call
    return dataclasses.replace(call, args=tuple(bound.args), kwargs=dict(bound.kwargs))


def _pairs(original: nn.Module, copy: nn.Module):
    copies = dict(copy.named_modules())
    for path, module in original.named_modules():
        if path in copies:
            yield path, module, copies[path]


def _holds(module: nn.Module, name: str, value: object) -> bool:
    held = module.__dict__.get(name, _ABSENT)
    return type(held) is type(value) and held == value


_ABSENT = object()


def resolves_to(callee: cst.BaseExpression, cls: type, source: ClassSource) -> bool:
    """Whether the dotted name ``callee`` evaluates to ``cls`` in the globals of ``source``'s module."""
    if not m.matches(callee, m.Name() | m.Attribute()):
        return False
    parts = []
    node = callee
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return False
    parts.append(node.value)
    parts.reverse()
    if parts[0] not in source.namespace:
        return False
    obj = source.namespace[parts[0]]
    for part in parts[1:]:
        obj = getattr(obj, part, None)
    return obj is cls


class _Calls(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[cst.Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        self.found.append(node)


def calls_in(expression: cst.CSTNode) -> list[cst.Call]:
    """Every call in ``expression``, outermost first (a plain visitor: matchers cost more, on every layer)."""
    return list(_calls_in(expression))


@functools.lru_cache(maxsize=1024)
def _calls_in(expression: cst.CSTNode) -> tuple[cst.Call, ...]:
    # Nodes hash by identity and never change: every layer asks about the same statement of its class's __init__.
    visitor = _Calls()
    expression.visit(visitor)
    return tuple(visitor.found)


def find_call_of(expression: cst.BaseExpression, cls: type, source: ClassSource) -> cst.Call | None:
    """The first call in ``expression`` whose callee is ``cls`` (how the replaced module was built)."""
    for call in calls_in(expression):
        if resolves_to(call.func, cls, source):
            return call
    return None
