"""Turn live objects recorded by the tracer (constructor arguments) back into source expressions.

The rules: an object that *is* an argument of the owner's own constructor call is that
parameter's name (the config becomes ``config``); the module being replaced becomes its original
construction expression; a value equal to one of the replaced module's original arguments becomes that
argument's original source (``self.embed_dim``, see :func:`original_source`); literals and containers of
literals are literals; a
dataclass instance is a call of its class with its non-default fields, an object whose class takes its settings back
(``QuantoConfig(weights='int4')``) a call of its class with them; a ``functools.partial`` a call of it; an enum member
is its qualified name; a ``torch.dtype`` is ``torch.float16``. A value with none of these forms (a lambda, an object
whose constructor derives its state) is the script's own expression for it (:mod:`.written`), each name it reads
rendered by these rules. Anything else is a :class:`DeclarationError` naming the module path, the class and the
argument (and, for an expression of the script, the line and the name it cannot read): the codemod never emits code
that would build something else.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import inspect
import io
import math
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import libcst as cst
import torch
from torch import nn

from archit_codemod.declaration.checking.compare import is_parametrized_class
from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.pretrained import is_pretrained_config
from archit_codemod.declaration.records import ConstructorCall
from archit_codemod.declaration.rendering.names import NameTable, not_importable
from archit_codemod.declaration.rendering.objects import (
    config_keywords,
    constructor_keywords,
    rebuilds,
    same_value,
)
from archit_codemod.declaration.rendering.rebuild import read_back
from archit_codemod.declaration.rendering.tensors import tensor_source
from archit_codemod.declaration.rendering.written import (
    CallSite,
    FreeName,
    GlobalSite,
    ScriptExpression,
    Written,
    script_expression,
    substituted,
)
from archit_codemod.declaration.stages import stage

_PRIMITIVES = (bool, int, float, str, bytes, type(None))


@dataclass(frozen=True)
class RenderContext:
    """Where a value is rendered: which module, inside which ``__init__``, replacing what."""

    path: str
    """Path of the module being declared, from its root (for messages)."""
    owner: str
    """Qualified name of the class whose ``__init__`` the expression goes into (for messages)."""
    parameters: list[tuple[Any, str]] = field(default_factory=list)
    """``(object, parameter name)`` of the owner's ``__init__``: an identical object renders as the name."""
    replaced: nn.Module | None = None
    replaced_expression: cst.BaseExpression | None = None
    """The original source expression that built ``replaced``."""
    replacement: nn.Module | None = None
    """The module replacing ``replaced``."""
    original_arguments: list[OriginalArgument] = field(default_factory=list)
    """The arguments ``replaced`` was originally built with (empty when ``replacement`` wraps ``replaced``)."""
    replaced_sizes: frozenset[int] = frozenset()
    """The sizes of ``replaced``'s parameters (see :func:`parameter_sizes`)."""
    references: Mapping[nn.Module, cst.BaseExpression] = field(default_factory=dict)
    """A module of the model -> an expression that refers to it where the code runs (``self.encoder.layer[0]``)."""
    role: str = "argument"
    """What a rendered value is to the module at ``path`` (for messages): an ``"argument"`` of its constructor,
    or an ``"attribute"`` set on it."""
    written: Written | None = None
    """Where the script wrote the value being rendered (an argument of its call, an attribute it set), when known:
    a value with no structural form is written as the script's own expression there."""


class NoSourceFormError(DeclarationError):
    """A value has no structural form, and the script wrote no expression for it that the codemod can copy."""


@dataclass(frozen=True)
class OriginalArgument:
    """One argument of the replaced module's original construction, as the original ``__init__`` wrote it."""

    parameter: str
    position: int | None
    """Index among the call's positional arguments; ``None`` when passed by keyword."""
    value: Any
    expression: cst.BaseExpression


def original_source(
    parameter: str,
    position: int | None,
    value: Any,
    originals: list[OriginalArgument],
    *,
    same_shape: bool,
    sizes: frozenset[int] = frozenset(),
) -> cst.BaseExpression | None:
    """The original source that a replacement's argument ``parameter=value`` stands for, or ``None``.

    Equal values alone are coincidences (``alpha=32`` is not ``config.hidden_size`` because the hidden size
    is 32), so a value takes an original argument's source only when the two also mean the same thing:

    - the same parameter name (``eps=1e-6`` for ``LlamaRMSNorm(..., eps=config.rms_norm_eps)``), or
    - in a *same-shape* replacement (the new module's parameters have exactly the old one's sizes, as
      ``nn.Linear`` replacing ``Conv1D`` or ``nn.LayerNorm`` replacing ``LlamaRMSNorm``), an integer that is
      one of those sizes: the original argument at the same position, else the only original source of
      that value (``Conv1D(3 * d, d)`` -> ``nn.Linear(d, 3 * d)``).

    Only ``bool``, ``int``, ``float`` and ``str`` values are matched, each with its own type only
    (``True == 1``, but a flag is not a size).
    """
    if type(value) not in (bool, int, float, str):
        return None
    equal = [o for o in originals if type(o.value) is type(value) and o.value == value]
    named = [o for o in equal if o.parameter == parameter]
    if named:
        return named[0].expression
    if not same_shape or type(value) is not int or value not in sizes:
        return None
    placed = [o for o in equal if position is not None and o.position == position]
    if placed:
        return placed[0].expression
    sources = {cst.Module([]).code_for_node(o.expression): o.expression for o in equal}
    return next(iter(sources.values())) if len(sources) == 1 else None


class TracedModules(Protocol):
    """What the renderer asks about the modules of the traced models."""

    def call_of(self, module: nn.Module) -> ConstructorCall | None:
        """The constructor call the tracer recorded for ``module``."""

    def name_of(self, module: nn.Module) -> str | None:
        """The generated class that declares ``module``, changed after its construction; ``None`` when its class
        is used as is."""

    def changed(self, module: nn.Module) -> bool:
        """Whether ``module``, or a module below it, changed after its construction."""

    def model_dtype(self, module: nn.Module) -> torch.dtype | None:
        """The main floating-point dtype of the model ``module`` is in (``None`` when unknown)."""


class Untraced:
    """Modules built without tracing and never changed: torch built-ins render from their attributes."""

    def call_of(self, module: nn.Module) -> ConstructorCall | None:
        return None

    def name_of(self, module: nn.Module) -> str | None:
        return None

    def changed(self, module: nn.Module) -> bool:
        return False

    def model_dtype(self, module: nn.Module) -> torch.dtype | None:
        return None


class Renderer:
    """Render values as LibCST expressions, binding every name they use in a :class:`NameTable`.

    A module value renders as its recorded constructor call with its generated class as callee
    (``modules``, a :class:`TracedModules`); a changed module without one is refused.
    """

    def __init__(self, names: NameTable, modules: TracedModules | None = None):
        self.names = names
        self.modules = modules if modules is not None else Untraced()
        self._constructing: list[Any] = []
        """The classes whose calls are being rendered, innermost last (for messages)."""
        self._cast_to: list[torch.dtype | None] = []
        """The dtype each module being rendered is cast to, innermost last."""
        self._reading: list[str] = []
        """The script globals whose values are being rendered for an expression that reads them, innermost last."""

    def value(self, value: Any, context: RenderContext, argument: str) -> cst.BaseExpression:
        """The expression for ``value``, passed as ``argument`` (a name used in error messages).

        A value with no structural form (a lambda, an object whose constructor derives its state) is written as the
        script's own expression for it (:meth:`as_written`), or refused.
        """
        if isinstance(value, _PRIMITIVES) and not isinstance(value, enum.Enum):
            return self._structural(value, context, argument)
        bound = self.names.copy()
        try:
            return self._structural(value, context, argument)
        except NoSourceFormError:
            if isinstance(value, torch.Tensor):
                raise  # values, not architecture: the script's expression would compute them again from others
            # What the attempt bound is not used: the expression the script wrote binds what it reads.
            self.names.restore(bound)
            written = self.as_written(value, context, argument)
            if written is None:
                raise
            return written

    def _structural(self, value: Any, context: RenderContext, argument: str) -> cst.BaseExpression:
        if (
            context.replaced is not None
            and value is context.replaced
            and context.replaced_expression is not None
        ):
            return context.replaced_expression
        if not isinstance(value, _PRIMITIVES):
            for candidate, name in context.parameters:
                if candidate is value:
                    return cst.Name(name)
            if (sub_config := _sub_config_of_a_parameter(value, context)) is not None:
                return sub_config
            if isinstance(value, nn.Module) and value in context.references:
                return context.references[value]
        if isinstance(value, enum.Enum):
            # Before the primitives: a (str, Enum) or IntEnum member is also a str or an int.
            return self._enum_member(value, context, argument)
        if isinstance(value, _PRIMITIVES):
            return self._primitive(value, context)
        if isinstance(value, torch.dtype):
            torch_name = self.names.reference(torch, self._where(context, argument))
            return cst.Attribute(torch_name, cst.Name(str(value).removeprefix("torch.")))
        if isinstance(value, torch.device):
            torch_name = self.names.reference(torch, self._where(context, argument))
            return cst.parse_expression(f"{cst.Module([]).code_for_node(torch_name)}.device({str(value)!r})")
        if type(value) in (list, tuple, set, dict):
            return self._container(value, context, argument)
        if is_pretrained_config(value):
            # Before the dataclasses (transformers 5's configs are ones): a config's private fields
            # (``_out_features``) are not what its constructor takes back; its diff dict is.
            if (keywords := config_keywords(value) or constructor_keywords(value)) is None:
                raise self.refusal(context, argument, value)
            callee = self.names.reference(type(value), self._where(context, argument))
            return self.call(callee, (), keywords, context, type(value))
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return self._dataclass(value, context, argument)
        if isinstance(value, nn.Module):
            return self.module(value, context, argument)
        if inspect.isclass(value) or _is_plain_function(value):
            return self.names.reference(value, self._where(context, argument))
        if isinstance(value, types.MethodType) and _is_plain_function(value.__func__):
            return self._bound_method(value, context, argument)
        if type(value) is functools.partial:
            where = self._where(context, argument)
            partial = cst.Attribute(self.names.reference(functools, where), cst.Name("partial"))
            return self.call(partial, (value.func, *value.args), value.keywords, context, None)
        if isinstance(value, torch.Tensor) and (source := tensor_source(value)) is not None:
            torch_name = self.names.reference(torch, self._where(context, argument))
            return cst.parse_expression(source(cst.Module([]).code_for_node(torch_name)))
        if (keywords := constructor_keywords(value)) is not None:
            callee = self.names.reference(type(value), self._where(context, argument))
            return self.call(callee, (), keywords, context, type(value))
        raise self.refusal(context, argument, value)

    def module(self, module: nn.Module, context: RenderContext, argument: str) -> cst.BaseExpression:
        """The constructor call that builds ``module``: the traced call, with its generated class as callee.

        A module built without tracing (or changed in place, whose recorded call no longer builds it) renders from
        its attributes: a torch built-in as :func:`builtin_constructor` writes it, any other class whose arguments
        read back (:func:`~archit_codemod.declaration.rendering.rebuild.read_back`).
        """
        with stage("rendering", path=context.path):
            return self._module(module, context, argument)

    def _module(self, module: nn.Module, context: RenderContext, argument: str) -> cst.BaseExpression:
        call = self.modules.call_of(module)
        generated = self.modules.name_of(module)
        if generated is None and _built_from_items(module, call, self.modules.changed(module)):
            return self.container(module, context, argument)
        if generated is None and self.modules.changed(module):
            raise _changed_without_class(module, context, argument)
        if call is None and "<locals>" in type(module).__qualname__:
            raise not_importable(
                type(module), f"Cannot declare {context.path or '<root>'} (in {context.owner})"
            )
        if call is None and generated is None and (built_in := _from_attributes(module)) is not None:
            args, kwargs = built_in
            callee = self.names.reference(type(module), self._where(context, argument))
            sizes = parameter_sizes(module) if context.original_arguments else None
            return self.call(callee, args, kwargs, context, type(module), sizes=sizes)
        if call is None:
            raise DeclarationError(
                f"Cannot declare {context.path or '<root>'} (in {context.owner}): {type(module).__qualname__} "
                f"(argument {argument!r}) was built without tracing, so its constructor arguments are unknown. "
                "Fix: run the script under `python -m archit_codemod SCRIPT`, or build and modify the model inside "
                "`with archit_codemod.declaration.tracing.tracer.trace():`."
            )
        # A parametrized module's class is made by the parametrization, which its library call makes again.
        cls = call.cls if is_parametrized_class(type(module)) else type(module)
        if cls is not call.cls and not (issubclass(cls, call.cls) and cls.__init__ is call.cls.__init__):
            raise DeclarationError(
                f"{context.path}: the module was built as {call.cls.__qualname__} but is now a {cls.__qualname__} "
                "(its __class__ was changed to a class with a constructor of its own), so no call of either class "
                "builds it. Fix: build an instance of the new class and assign it in place of the module "
                "(owner.attribute = NewClass(...)), copying the weights with load_state_dict."
            )
        if generated is not None:
            callee: cst.BaseExpression = cst.Name(generated)
        else:
            # A __class__ swap to a subclass without a constructor of its own is a call of that subclass.
            callee = self.names.reference(cls, f"{context.path} (in {context.owner})")
        # The replacement's arguments, and those of the modules built for it (nn.Sequential(nn.Dropout(0.1),
        # nn.Linear(16, 4)) replacing nn.Linear(dim, num_classes)), may stand for the replaced module's.
        sizes = parameter_sizes(module) if context.original_arguments else None
        dtype = self._own_dtype(module)
        if dtype is not None and call.kwargs.get("dtype") == dtype:
            dtype = None  # nn.Linear(8, 8, dtype=torch.bfloat16) is built in it
        self._cast_to.append(dtype)
        try:
            site = CallSite(call.filename, call.lineno, call.cls, call.cls.__name__)
            expression = self.call(callee, call.args, call.kwargs, context, call.cls, sizes=sizes, site=site)
        finally:
            self._cast_to.pop()
        if dtype is None or dtype in self._cast_to:
            return expression
        return cst.Call(
            cst.Attribute(expression, cst.Name("to")), [cst.Arg(self.value(dtype, context, argument))]
        )

    def container(self, container: nn.Module, context: RenderContext, argument: str) -> cst.BaseExpression:
        """``nn.ModuleList([...])``, ``nn.Sequential(...)`` or ``nn.ModuleDict({...})`` of the container's items
        as they are now, each built by its own constructor call."""
        callee = self.names.reference(type(container), self._where(context, argument))
        items = container._modules
        if isinstance(container, nn.ModuleDict):
            return self.call(callee, (dict(items),), {}, context, type(container))
        if isinstance(container, nn.ModuleList):
            return self.call(callee, (list(items.values()),), {}, context, type(container))
        return self.call(callee, tuple(items.values()), {}, context, type(container))

    def _own_dtype(self, module: nn.Module) -> torch.dtype | None:
        """The floating-point dtype of all of ``module``'s tensors when the script moved it out of its model's
        (``nn.Linear(8, 8).to(torch.bfloat16)`` in a ``float32`` model): its constructor call builds it in the
        model's, so the call is followed by ``.to(dtype)``. ``None`` when it is in its model's dtype."""
        model_dtype = self.modules.model_dtype(module)
        tensors = [*module.parameters(), *module.buffers()]
        dtypes = {tensor.dtype for tensor in tensors if tensor.dtype.is_floating_point}
        if model_dtype is None or len(dtypes) != 1 or model_dtype in dtypes:
            return None
        return dtypes.pop()

    def call(
        self,
        callee: cst.BaseExpression,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        context: RenderContext,
        cls: Any = None,
        *,
        sizes: frozenset[int] | None = None,
        site: CallSite | None = None,
    ) -> cst.Call:
        """``callee(*args, **kwargs)`` with every argument rendered, positional and keyword kept as passed.

        ``cls`` (the class called) names the positional arguments, in error messages and for matching them
        with the replaced module's original arguments, which happens when ``sizes`` (the sizes of the
        parameters of the module this call builds) is given: see :func:`original_source`. ``site`` is the
        script's call this one makes again, where an argument with no structural form was written.
        """
        parameter_names = _positional_names(cls, args)
        if inspect.isclass(cls) and issubclass(cls, nn.Module) and _placement_is_the_builders(cls, kwargs):
            # Placement is a choice of whoever builds the model (from_pretrained builds on meta, then loads), not
            # part of the architecture: skip_init's device="meta" would leave the rebuilt module empty.
            kwargs = {name: value for name, value in kwargs.items() if name != "device"}

        def render(value: Any, parameter: str, position: int | None) -> cst.BaseExpression:
            written = None
            if site is not None:
                written = (
                    Written(site, position=position) if position is not None else Written(site, parameter)
                )
            argument_context = dataclasses.replace(context, written=written)
            if sizes is not None and context.original_arguments:
                source = original_source(
                    parameter,
                    position,
                    value,
                    context.original_arguments,
                    same_shape=bool(sizes) and sizes == context.replaced_sizes,
                    sizes=sizes,
                )
                if source is not None:
                    return source
            return self.value(value, argument_context, parameter)

        self._constructing.append(cls)
        try:
            rendered = [cst.Arg(render(arg, parameter_names[index], index)) for index, arg in enumerate(args)]
            rendered += [
                cst.Arg(render(arg, name, None), keyword=cst.Name(name), equal=_TIGHT_EQUAL)
                for name, arg in kwargs.items()
            ]
        finally:
            self._constructing.pop()
        return cst.Call(callee, args=_with_commas(rendered))

    def refusal(self, context: RenderContext, argument: str, value: Any) -> NoSourceFormError:
        return NoSourceFormError(
            f"{self._what(context, argument, value)}, which has no source form. Fix: {_fix_for(value)}"
        )

    def _what(self, context: RenderContext, argument: str, value: Any) -> str:
        """``Cannot declare <path> (in <owner>): building <class>, argument 'x' is a <type> (<repr>)``."""
        shown = repr(value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        constructing = next((cls for cls in reversed(self._constructing) if cls is not None), None)
        built = f"building {getattr(constructing, '__qualname__', constructing)}, " if constructing else ""
        return (
            f"Cannot declare {context.path or '<root>'} (in {context.owner}): {built}{context.role} {argument!r} is a "
            f"{type(value).__module__}.{type(value).__qualname__} ({shown})"
        )

    def as_written(self, value: Any, context: RenderContext, argument: str) -> cst.BaseExpression | None:
        """The script's own expression for ``value`` (:func:`~archit_codemod.declaration.rendering.written.
        script_expression`), each name it reads rendered as what it holds (a global holding the model's config is
        ``config``, a module of the model ``self.<path>``, an import or a script definition is bound by its name);
        ``None`` when the script wrote none the codemod can find.

        Raises:
            DeclarationError: the expression reads a name whose value there is unknown (a function's local
                variable, a global bound more than once or in a loop), or that renders to nothing.
        """
        found = script_expression(value, context.written, self.names.script)
        if found is None:
            return None
        replacements = {
            free.name: self._free_name(free, found, value, context, argument) for free in found.free
        }
        return substituted(found, replacements)

    def _free_name(
        self, free: FreeName, found: ScriptExpression, value: Any, context: RenderContext, argument: str
    ) -> cst.BaseExpression:
        where = self._where(context, argument)
        if free.kind == "builtin":
            return cst.Name(free.name)
        if free.kind in ("local", "unbound", "module attribute") or not free.reliable:
            raise self._unreadable(free, found, value, context, argument)
        held = free.value
        if free.kind == "global" and free.imported:
            self.names.require_name(free.name, self.names.script.parsed(), where)
            return cst.Name(free.name)
        if inspect.ismodule(held) or inspect.isclass(held) or _is_plain_function(held):
            return self.names.reference(held, where)
        if isinstance(held, nn.Module):
            if found.reaches_a_tensor(free.name, held):
                why = (
                    "a module of the model whose tensors it reads: their traced values, which the generated class "
                    "does not have when it runs (weights are loaded after it)"
                )
                raise self._unreadable(free, found, value, context, argument, why)
            if held not in context.references:
                raise self._unreadable(free, found, value, context, argument)
            return context.references[held]
        if free.name in self._reading:
            raise self._unreadable(free, found, value, context, argument)
        written = Written(GlobalSite(free.name)) if free.kind == "global" else None
        self._reading.append(free.name)
        try:
            return self.value(held, dataclasses.replace(context, written=written), free.name)
        finally:
            self._reading.pop()

    def _unreadable(
        self,
        free: FreeName,
        found: ScriptExpression,
        value: Any,
        context: RenderContext,
        argument: str,
        why: str | None = None,
    ) -> DeclarationError:
        """The refusal for an expression of the script that reads ``free``, whose value there is not known (or not
        usable: ``why``)."""
        script = self.names.script.shown_path or "the script"
        reason = {
            "local": "a local variable of a function, whose value there the codemod does not know",
            "unbound": "a name the script does not bind at its top level once it ended",
            "module attribute": "a name Python binds in each module (the generated one has its own)",
        }.get(
            free.kind,
            "a global the script binds more than once or in a loop, so its value there is not known",
        )
        if isinstance(free.value, nn.Module) and free.reliable:
            reason = "a module the generated class cannot refer to (it is not part of the declared model)"
        if free.name in self._reading:
            reason = "a global whose own value reads it again"
        why = why or reason
        code = found.code if len(found.code) <= 80 else found.code[:77] + "..."
        return DeclarationError(
            f"{self._what(context, argument, value)}, which has no structural form, and the script's expression for "
            f"it at {script}:{found.line} (`{code}`) reads {free.name}, {why}. Fix: write that expression with names "
            "bound once at the top level of the script (literals, the model's config, modules of the model, imported "
            f"or defined classes and functions); or {_fix_for(value)}"
        )

    # -- helpers -----------------------------------------------------------------------------------------

    def _where(self, context: RenderContext, argument: str) -> str:
        return f"{context.path or '<root>'} (in {context.owner}), {context.role} {argument!r}"

    def _primitive(self, value: Any, context: RenderContext) -> cst.BaseExpression:
        if isinstance(value, float) and not math.isfinite(value):
            return cst.parse_expression(f"float({str(value)!r})")
        written = repr(value)
        if isinstance(value, str) and written.startswith("'") and '"' not in value:
            written = f'"{written[1:-1]}"'  # as ruff writes strings
        return cst.parse_expression(written)

    def _bound_method(
        self, value: types.MethodType, context: RenderContext, argument: str
    ) -> cst.BaseExpression:
        """``types.MethodType(sink_forward, self.model.layers[0].self_attn)``: a function bound to one object (a
        ``forward`` patched on one instance), when that object is one the code refers to; ``ScaleInput(0.5).hook``:
        a method of its class bound to an object that renders (with no ``written`` place of its own, it may still be
        the one value of a script global)."""
        owner = value.__self__
        if not isinstance(owner, nn.Module | type) and _method_of_its_class(value):
            written = dataclasses.replace(context, written=None)
            return cst.Attribute(self.value(owner, written, f"{argument}.__self__"), cst.Name(value.__name__))
        bound_to = context.references.get(owner) if isinstance(owner, nn.Module) else None
        if bound_to is None:
            raise self.refusal(context, argument, value)
        where = self._where(context, argument)
        method_type = cst.Attribute(self.names.reference(types, where), cst.Name("MethodType"))
        function = self.names.reference(value.__func__, where)
        return cst.Call(method_type, _with_commas([cst.Arg(function), cst.Arg(bound_to)]))

    def _enum_member(self, value: enum.Enum, context: RenderContext, argument: str) -> cst.BaseExpression:
        """``Owner.NAME``; a combination of flags (``Permission.READ | Permission.WRITE``) as ``Owner(3)``."""
        owner = self.names.reference(type(value), self._where(context, argument))
        name = value.name
        if isinstance(name, str) and name.isidentifier() and getattr(type(value), name, None) is value:
            return cst.Attribute(owner, cst.Name(name))
        return self.call(owner, (value.value,), {}, context, type(value))

    def _container(self, value: Any, context: RenderContext, argument: str) -> cst.BaseExpression:
        if isinstance(value, dict):
            context = dataclasses.replace(context, written=None)
            elements = [
                cst.DictElement(
                    self.value(k, context, argument), self.value(v, context, f"{argument}[{k!r}]")
                )
                for k, v in value.items()
            ]
            return cst.Dict(_with_commas(elements))
        items = sorted(value, key=repr) if isinstance(value, set) else list(value)
        written = context.written if isinstance(value, list | tuple) else None
        elements = [
            cst.Element(
                self.value(
                    item,
                    dataclasses.replace(context, written=written.item(i) if written is not None else None),
                    f"{argument}[{i}]",
                )
            )
            for i, item in enumerate(items)
        ]
        if isinstance(value, list):
            return cst.List(_with_commas(elements))
        if isinstance(value, set):
            if not elements:
                return cst.parse_expression("set()")
            return cst.Set(_with_commas(elements))
        if len(elements) == 1:
            return cst.Tuple([elements[0].with_changes(comma=cst.Comma())])
        return cst.Tuple(_with_commas(elements))

    def _dataclass(self, value: Any, context: RenderContext, argument: str) -> cst.BaseExpression:
        """A call of the dataclass with the fields that differ from a default instance's, when that call builds an
        object with ``value``'s settings (:func:`~archit_codemod.declaration.rendering.objects.rebuilds`); else a
        call with its constructor's parameters (:func:`constructor_keywords`).

        Compared with a default instance rather than the declared defaults, a field that ``__post_init__``
        derives (PEFT's ``peft_type``) is left out, as its own constructor sets it again.
        """
        callee = self.names.reference(type(value), self._where(context, argument))
        default = _default_instance(type(value))
        kwargs = {}
        for data_field in dataclasses.fields(value):
            if not data_field.init:
                continue
            current = getattr(value, data_field.name)
            if default is not None and same_value(current, getattr(default, data_field.name, _MISSING)):
                continue
            if data_field.default is not dataclasses.MISSING and same_value(current, data_field.default):
                continue
            if data_field.default_factory is not dataclasses.MISSING and same_value(
                current, data_field.default_factory()
            ):
                continue
            kwargs[data_field.name] = current
        if not rebuilds(value, kwargs):
            # Settings kept outside the fields (transformers' quantization configs declare only quant_method):
            # the call of its fields would build another object; its constructor's own parameters may not.
            if (kwargs := constructor_keywords(value)) is None:
                raise self.refusal(context, argument, value)
        return self.call(callee, (), kwargs, context, type(value))


_MISSING = object()


def _default_instance(cls: type) -> Any:
    """``cls()``, or ``None`` when it needs arguments or raises."""
    try:
        return cls()
    except Exception:
        return None


def _built_from_items(module: nn.Module, call: ConstructorCall | None, changed: bool) -> bool:
    """Whether a container module renders from its items as they are now rather than from its constructor call:
    when its items changed after it was built (``layers.insert(0, layer)``), or when it was built from an
    iterator its construction used up (``nn.ModuleList(reversed(layers))``).

    Only plain containers whose items are all modules under their index (a ``Sequential`` built from an
    ``OrderedDict`` keeps its names, so it is not rebuilt this way).
    """
    if type(module) not in (nn.ModuleList, nn.Sequential, nn.ModuleDict):
        return False
    items = module._modules
    if any(item is None for item in items.values()):
        return False
    if not isinstance(module, nn.ModuleDict) and any(key != str(i) for i, key in enumerate(items)):
        return False
    consumed = call is not None and any(
        isinstance(arg, Iterator) for arg in [*call.args, *call.kwargs.values()]
    )
    return changed or call is None or consumed


def _changed_without_class(module: nn.Module, context: RenderContext, argument: str) -> DeclarationError:
    where = context.path or "<root>"
    if type(module) in (nn.ModuleList, nn.Sequential, nn.ModuleDict):
        return DeclarationError(
            f"{where}: items of this {type(module).__name__} changed after it was built, and no class's __init__ "
            "builds it (it is a root, or a module the script built). Fix: build the container with all of its "
            "items at once (nn.Sequential(a, b)), or make it a child of an nn.Module subclass and modify that model "
            "instead."
        )
    return DeclarationError(
        f"{where} (in {context.owner}): argument {argument!r} is a {type(module).__qualname__} that was changed "
        "after it was built, and it is not part of the declared model, so no generated class declares the change. "
        "Fix: make the changes before passing it, or attach it to the model."
    )


def _fix_for(value: Any) -> str:
    """How to make an argument like ``value`` declarable, by the kind of value it is."""
    if isinstance(value, torch.Tensor):
        return (
            "build the tensor inside the module's own __init__ (register it there with register_buffer or "
            "nn.Parameter) from values the codemod can write (literals, the config); load its contents from the "
            "checkpoint."
        )
    if isinstance(value, io.IOBase):
        return "pass the file's path (a string) and open the file inside the module's __init__ or forward."
    if inspect.isgenerator(value) or isinstance(value, Iterator):
        return "pass a list or tuple of literals instead of an iterator or generator."
    if isinstance(value, types.MethodType):
        return (
            "bind a function defined at the top level of a module (or of the script), without closure, to the "
            "module that holds it (module.forward = types.MethodType(function, module)); or make it a method of a "
            "module class of your own and assign an instance of that class."
        )
    if inspect.isroutine(value):
        return (
            "define the function at the top level of a module (or of the script), without closure, and pass it "
            "by name; pass its parameters (literals) as separate arguments of the module."
        )
    return (
        "pass values the codemod can write back (the config, literals and containers of them, modules, "
        "dataclasses, enums, dtypes), or build this value inside the module's own __init__; a module that a "
        "library wraps or converts with such state (torch.compile, quantization preparation) is best changed "
        "after building the model, in your own code."
    )


_TIGHT_EQUAL = cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace(""))


def _with_commas(items: list) -> list:
    """LibCST wants explicit separators; the last item has none."""
    return [
        item.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for item in items[:-1]
    ] + items[-1:]


def _placement_is_the_builders(cls: type, kwargs: dict[str, Any]) -> bool:
    """Whether ``cls``'s ``device=`` argument in ``kwargs`` only places what it builds, so that leaving it out lets
    whoever builds the model place it: when the parameter's default places nothing (``None``, as torch's
    ``factory_kwargs``), or when ``cls`` takes it through ``**kwargs``. A default that places somewhere
    (HQQ's ``HQQLinear(..., device="cuda")``) makes the argument part of what is built: it is kept as written."""
    if not isinstance(kwargs.get("device"), torch.device | str | int):
        return False
    try:
        parameter = inspect.signature(cls).parameters.get("device")
    except (TypeError, ValueError):
        return False
    return parameter is None or parameter.default is None


def _is_plain_function(value: Any) -> bool:
    """A module-level function (no lambda, no closure), so it can be imported by name."""
    if inspect.isbuiltin(value):
        return getattr(value, "__module__", None) is not None
    return (
        inspect.isfunction(value)
        and value.__closure__ is None
        and "<" not in value.__qualname__
        and value.__name__ != "<lambda>"
    )


def _method_of_its_class(method: types.MethodType) -> bool:
    """Whether ``method`` is what its object's class holds under the method's name (``obj.hook`` writes it)."""
    held = inspect.getattr_static(type(method.__self__), method.__name__, None)
    return held is method.__func__


def _positional_names(cls: Any, args: tuple[Any, ...]) -> list[str]:
    """The parameter names positional arguments bind to (``args[i]`` when unknown), for messages."""
    names = [f"args[{index}]" for index in range(len(args))]
    try:
        parameters = list(inspect.signature(cls).parameters.values()) if cls is not None else []
    except (TypeError, ValueError):
        parameters = []
    for index, parameter in enumerate(parameters[: len(args)]):
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            names[index] = parameter.name
    return names


def parameter_sizes(module: nn.Module) -> frozenset[int]:
    """Every dimension of every parameter of ``module`` (its sizes, for :func:`original_source`)."""
    return frozenset(size for parameter in module.parameters() for size in parameter.shape)


def _from_attributes(module: nn.Module) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
    built_in = builtin_constructor(module)
    return built_in if built_in is not None else read_back(module)


def builtin_constructor(module: nn.Module) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
    """``(args, kwargs)`` rebuilding a torch built-in module from its attributes, ``None`` for other classes.

    Used when a module was built without tracing (``declare(model)`` outside a trace), so no constructor
    call was recorded. Only classes whose attributes determine their construction are listed.
    """
    cls = type(module)
    kwargs: dict[str, Any] = {}
    if cls is nn.Linear:
        args: tuple[Any, ...] = (module.in_features, module.out_features)
        if module.bias is None:
            kwargs["bias"] = False
    elif cls is nn.Embedding:
        args = (module.num_embeddings, module.embedding_dim)
        if module.padding_idx is not None:
            kwargs["padding_idx"] = module.padding_idx
    elif cls in (nn.LayerNorm, getattr(nn, "RMSNorm", None)):
        shape = tuple(module.normalized_shape)
        args = (shape[0] if len(shape) == 1 else shape,)
        if module.eps is not None and module.eps != (1e-5 if cls is nn.LayerNorm else None):
            kwargs["eps"] = module.eps
        if not module.elementwise_affine:
            kwargs["elementwise_affine"] = False
        elif cls is nn.LayerNorm and module.bias is None:
            kwargs["bias"] = False
    elif cls in (nn.Dropout, nn.Dropout1d, nn.Dropout2d):
        args = (module.p,) if module.p != 0.5 else ()
    elif cls is nn.GELU:
        args = ()
        if module.approximate != "none":
            kwargs["approximate"] = module.approximate
    elif cls in (nn.Identity, nn.ReLU, nn.Tanh, nn.SiLU, nn.Sigmoid, nn.Mish):
        args = ()
    else:
        return None
    dtypes = {tensor.dtype for tensor in module.parameters(recurse=False)}
    if len(dtypes) == 1 and (dtype := dtypes.pop()) != torch.get_default_dtype():
        kwargs["dtype"] = dtype
    return args, kwargs


def _sub_config_of_a_parameter(value: Any, context: RenderContext) -> cst.BaseExpression | None:
    """``config.backbone_config`` for the config a parameter's config holds (GroundingDINO's ``load_backbone(config)``
    builds its backbone from ``config.backbone_config`` itself)."""
    if not is_pretrained_config(value):
        return None
    for candidate, name in context.parameters:
        if is_pretrained_config(candidate):
            for attribute, held in vars(candidate).items():
                if held is value and attribute.isidentifier() and not attribute.startswith("_"):
                    return cst.Attribute(cst.Name(name), cst.Name(attribute))
    return None
