"""Buffers that a module computes in its ``__init__`` and does not save, computed again after ``from_pretrained``.

transformers 5's ``from_pretrained`` builds the model on the ``meta`` device, loads what the checkpoint holds, and
leaves everything else to the model's ``_init_weights``, which ``initialize_weights`` calls on every module once the
weights are in place. A non-persistent buffer (``register_buffer(..., persistent=False)``) is in no checkpoint:
transformers' own modules set theirs in their model's ``_init_weights`` (``position_ids``, a rotary embedding's
``inv_freq``), but a module of another library or of the script is unknown to it, and its buffers come back as
uninitialised memory (PEFT OFT's ``rows``/``cols`` index buffers: the forward then indexes with garbage).

So the generated class that transformers asks to initialise such a module (the nearest model above it:
``initialize_weights`` hands the modules of a nested ``PreTrainedModel`` to that model's ``_init_weights``) gets an
``_init_weights`` that does what the original does, then builds one module of that class again, on the CPU, and
copies the buffers it computes::

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, OFTRotationModule):
            computed = OFTRotationModule(r=module.r, n_elements=module.n_elements, ...)
            module.rows.copy_(computed.rows)
            module.cols.copy_(computed.cols)

Each ``__init__`` argument is read back from the module itself where it keeps it (a setting under the parameter's
name, or the child module it was given: ``Scaled(inner=module.inner, factor=0.5)``), else written as the literal
the recorded call passed. ``_init_weights`` is the member transformers documents for this (values are set in
``_init_weights``, never only in ``__init__``); nothing of it is private. A class is declared that way only when,
for every module of it in the traced model, one call form fits and the module it builds computes exactly the traced
buffers; a buffer that cannot be computed again is named in a warning, and the loading check of verification shows
whether it matters.

Which modules: those the modification brought (not built while the root model's ``__init__`` ran), of a class that
is not of the library whose model class defines the ``_init_weights`` in charge (a transformers model's knows
transformers' modules).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import inspect
import math
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import libcst as cst
import torch
from torch import nn

from archit_codemod.declaration.checking.functional import quiet
from archit_codemod.declaration.editing.layout import LINE_LENGTH
from archit_codemod.declaration.emitting.output import Mode
from archit_codemod.declaration.planning.plan import ClassMember, ClassPlan, Instance, Plan
from archit_codemod.declaration.pretrained import is_pretrained_model
from archit_codemod.declaration.records import Trace

__all__ = ["Recomputation", "UnsavedBuffers", "recompute_unsaved_buffers", "unsaved_buffers"]

_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


@dataclass(frozen=True)
class Recomputation:
    """How the modules of one class get their unsaved buffers again: ``cls(**arguments)``, then a copy of each of
    ``buffers``. Each argument is ``(parameter, source)``, the source read with ``module`` bound to the module
    being initialised (``module.r``, ``0.5``)."""

    cls: type
    arguments: tuple[tuple[str, str], ...]
    buffers: tuple[str, ...]


@dataclass(frozen=True)
class UnsavedBuffers:
    """The unsaved buffers of the modules whose initialisation transformers hands to one model (``host``)."""

    host: Instance
    """The model (a transformers ``PreTrainedModel``) whose ``_init_weights`` transformers calls for the modules."""
    recomputed: tuple[Recomputation, ...]
    buffers: tuple[str, ...]
    """``path.buffer`` of each unsaved buffer of those modules."""
    not_recomputed: tuple[str, ...] = ()
    """Those that no module built again computes as traced."""


def unsaved_buffers(trace: Trace | None, roots: Mapping[str, nn.Module]) -> list[UnsavedBuffers]:
    """For each model that transformers asks to initialise modules the modification brought, how the unsaved buffers
    of those modules are computed again (see the module docstring)."""
    found = []
    for root_name, root in roots.items():
        if not is_pretrained_model(root):
            continue
        by_host: dict[str, list[tuple[str, nn.Module]]] = {}
        for path, module in _brought_with_unsaved_buffers(root, trace):
            host = _initialising_model(root, path)
            if not _known_to(root.get_submodule(host), module):
                by_host.setdefault(host, []).append((path, module))
        for host, modules in by_host.items():
            found.append(_recomputation(Instance(root_name, host), modules, trace))
    return found


def recompute_unsaved_buffers(plan: Plan, found: list[UnsavedBuffers], mode: Mode = "subclass") -> Plan:
    """``plan`` with an ``_init_weights`` member on each generated model class that computes buffers again after
    loading, and a warning naming the buffers that none computes again.

    A vendored class is the original's copy: where the original's body defines ``_init_weights`` itself, the member
    would replace it, so the buffers are named in the warning instead (subclass mode inherits it, and calls it).
    """
    plans = {instance: class_plan for class_plan in plan.classes for instance in class_plan.instances}
    recomputed: dict[str, dict[type, Recomputation]] = {}
    warnings = []
    for entry in found:
        class_plan = plans.get(entry.host)
        if class_plan is None or (mode == "vendor" and "_init_weights" in vars(class_plan.original)):
            warnings.append(_not_recomputed_warning(dataclasses.replace(entry, not_recomputed=entry.buffers)))
            continue
        for recomputation in entry.recomputed:
            recomputed.setdefault(class_plan.name, {})[recomputation.cls] = recomputation
        if entry.not_recomputed:
            warnings.append(_not_recomputed_warning(entry))
    if not recomputed and not warnings:
        return plan
    replaced = {
        class_plan.name: dataclasses.replace(
            class_plan,
            members=(
                *class_plan.members,
                ClassMember("_init_weights", _init_weights_method(class_plan, by_class.values(), plan)),
            ),
        )
        for class_plan in plan.classes
        if (by_class := recomputed.get(class_plan.name))
    }
    return dataclasses.replace(
        plan,
        classes=tuple(replaced.get(c.name, c) for c in plan.classes),
        roots={root: replaced.get(c.name, c) for root, c in plan.roots.items()},
        warnings=(*plan.warnings, *warnings),
    )


# -- which modules -------------------------------------------------------------------------------------------


def _brought_with_unsaved_buffers(root: nn.Module, trace: Trace | None) -> Iterator[tuple[str, nn.Module]]:
    """``(path, module)`` of each module under ``root`` that holds non-persistent buffers and that the modification
    brought."""
    for path, module in root.named_modules():
        if module._non_persistent_buffers_set and not _built_by(module, root, trace):
            yield path, module


def _known_to(host: nn.Module, module: nn.Module) -> bool:
    """Whether ``module``'s class is of the library whose model class defines ``host``'s ``_init_weights``: a
    transformers model's ``_init_weights`` sets the buffers of transformers' modules (transformers 5 requires it of
    every model), not those of another library's or the script's."""
    definer = next((cls for cls in type(host).__mro__ if "_init_weights" in vars(cls)), type(host))
    return _library(type(module)) == _library(definer)


def _library(cls: type) -> str:
    return cls.__module__.partition(".")[0]


def _built_by(module: nn.Module, root: nn.Module, trace: Trace | None) -> bool:
    """Whether ``module`` was built while ``root``'s ``__init__`` ran (then the root's class builds it)."""
    call = trace.call_of(module) if trace is not None else None
    while call is not None:
        if call.parent is root:
            return True
        call = trace.call_of(call.parent) if call.parent is not None else None
    return False


def _initialising_model(root: nn.Module, path: str) -> str:
    """The path of the innermost ``PreTrainedModel`` above ``path`` (the root's is ``""``): transformers'
    ``initialize_weights`` hands the module to that model's ``_init_weights``."""
    parts = path.split(".")
    for length in range(len(parts) - 1, 0, -1):
        ancestor = ".".join(parts[:length])
        if is_pretrained_model(root.get_submodule(ancestor)):
            return ancestor
    return ""


# -- how to compute them again -------------------------------------------------------------------------------


def _recomputation(
    host: Instance, modules: list[tuple[str, nn.Module]], trace: Trace | None
) -> UnsavedBuffers:
    by_class: dict[type, list[tuple[str, nn.Module]]] = {}
    for path, module in modules:
        by_class.setdefault(type(module), []).append((path, module))
    recomputed, missing = [], []
    for cls, instances in by_class.items():
        # One call form for every module of the class, and the buffers that it computes for each of them.
        forms = {path: _call_form(module, trace) for path, module in instances}
        form = next(iter(forms.values()))
        computed = [
            _computed_buffers(module, forms[path]) if form is not None and forms[path] == form else set()
            for path, module in instances
        ]
        common = set.intersection(*computed)
        for path, module in instances:
            missing += [f"{path}.{name}" for name in sorted(module._non_persistent_buffers_set - common)]
        if common:
            buffers = tuple(name for name in instances[0][1]._buffers if name in common)
            recomputed.append(Recomputation(cls, form.sources, buffers))
    every = tuple(
        f"{path}.{name}" for path, module in modules for name in sorted(module._non_persistent_buffers_set)
    )
    return UnsavedBuffers(host, tuple(recomputed), every, tuple(missing))


@dataclass(frozen=True)
class _CallForm:
    """A call of a module's class: each argument as ``(parameter, source)``. Two modules share a form when their
    sources are the same; ``values`` are what the sources read on one module (to build it again here)."""

    sources: tuple[tuple[str, str], ...]
    values: Mapping[str, Any] = field(compare=False)


_DEFAULT = object()
"""An argument left to the parameter's default."""


class _NoFormError(Exception):
    """An argument that is neither read back from the module nor a literal."""


def _call_form(module: nn.Module, trace: Trace | None) -> _CallForm | None:
    """``module``'s class called with each argument read back from ``module`` or written as the literal its recorded
    call passed; ``None`` when an argument has neither form, or the signature cannot be called by keyword."""
    try:
        parameters = inspect.signature(type(module)).parameters.values()
    except (TypeError, ValueError):
        return None
    call = trace.call_of(module) if trace is not None else None
    bound = call.bound() if call is not None else None
    passed = bound.arguments if bound is not None else None
    sources, values = [], {}
    try:
        for parameter in parameters:
            if parameter.kind in _VARIADIC:
                if passed is not None and passed.get(parameter.name):
                    return None  # arguments that no parameter names have no keyword form
                continue
            if parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
                return None
            source, value = _argument(module, parameter, passed)
            if source is not _DEFAULT:
                sources.append((parameter.name, source))
                values[parameter.name] = value
    except _NoFormError:
        return None
    return _CallForm(tuple(sources), values)


def _argument(
    module: nn.Module, parameter: inspect.Parameter, passed: Mapping[str, Any] | None
) -> tuple[Any, Any]:
    """``(source, value)`` of one argument: the module it was given as the child that holds it, a setting the module
    keeps under the parameter's name, else the literal the call passed; ``_DEFAULT`` for a parameter left to its
    default.

    Raises:
        _NoFormError: none of those.
    """
    name = parameter.name
    given = passed.get(name, _DEFAULT) if passed is not None else _DEFAULT
    if isinstance(given, nn.Module):
        child = next((key for key, value in module._modules.items() if value is given), None)
        if child is None or not child.isidentifier():
            raise _NoFormError(name)
        return f"module.{child}", given
    if isinstance(given, torch.Tensor):
        raise _NoFormError(name)
    kept = vars(module).get(name, _DEFAULT)
    if kept is not _DEFAULT and not isinstance(kept, nn.Module | torch.Tensor):
        if given is _DEFAULT or _equal(kept, given):
            return f"module.{name}", kept
    if passed is None and isinstance(module._modules.get(name), nn.Module):  # no recorded call: its child
        return f"module.{name}", module._modules[name]
    if given is not _DEFAULT:
        literal = _literal(given)
        if literal is None:
            raise _NoFormError(name)
        return literal, given
    if passed is None and parameter.default is inspect.Parameter.empty:
        raise _NoFormError(name)
    return _DEFAULT, None


def _equal(a: Any, b: Any) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:  # a value without a plain ``==``
        return False


def _literal(value: Any) -> str | None:
    """Python source for a plain value (numbers, strings, ``None``, and tuples and lists of them)."""
    if value is None or isinstance(value, bool | int | str):
        return repr(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    if type(value) in (tuple, list):
        items = [_literal(item) for item in value]
        if None in items:
            return None
        if type(value) is list:
            return f"[{', '.join(items)}]"
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    return None


def _computed_buffers(module: nn.Module, form: _CallForm | None) -> set[str]:
    """The unsaved buffers of ``module`` that a module of its class built on the CPU in ``form`` computes exactly
    as traced (same shape, and values in the traced dtype; shapes only for buffers on ``meta``). The child modules
    it is given are copies: a constructor may change what it receives, and the traced model must stay as it is."""
    if form is None:
        return set()
    try:
        with _isolated(), torch.device("cpu"):
            arguments = {
                name: copy.deepcopy(value) if isinstance(value, nn.Module) else value
                for name, value in form.values.items()
            }
            computed = type(module)(**arguments)
    except Exception:  # the class's own constructor: whatever it raises, it does not compute them this way
        return set()
    found = set()
    for name in module._non_persistent_buffers_set:
        traced, again = module._buffers.get(name), computed._buffers.get(name)
        if traced is None or again is None or name not in computed._non_persistent_buffers_set:
            continue
        # The copy converts to the buffer's dtype (a model converted to bfloat16 after it was built).
        if traced.shape != again.shape:
            continue
        if traced.is_meta or torch.equal(traced.cpu(), again.cpu().to(traced.dtype)):
            found.add(name)
    return found


@contextlib.contextmanager
def _isolated() -> Iterator[None]:
    """Building modules draws random numbers: the script's generator state stays as the script left it."""
    with torch.random.fork_rng(devices=[]), quiet(), torch.no_grad():
        yield


def _not_recomputed_warning(entry: UnsavedBuffers) -> str:
    shown = ", ".join(entry.not_recomputed[:5]) + (", ..." if len(entry.not_recomputed) > 5 else "")
    return (
        f"{entry.host.root}: {shown}: buffers that are not saved in a checkpoint (persistent=False) and that the "
        "generated classes cannot compute again after loading (no call of the module's class, with arguments read "
        "back from the module, computes them as traced). transformers 5's from_pretrained builds the model on the "
        "meta device and leaves such buffers uninitialised. Fix: keep the constructor's arguments as attributes of "
        "the same names, or register the buffers with persistent=True."
    )


# -- the member ------------------------------------------------------------------------------------------------

_INDENT = 4


def _init_weights_method(
    class_plan: ClassPlan, recomputed: Iterator[Recomputation] | Any, plan: Plan
) -> cst.FunctionDef:
    """``def _init_weights(self, module)`` that calls the original, then computes the buffers again."""
    where = f"{class_plan.name}._init_weights (buffers computed again after loading)"
    # A subclass before its base: ``isinstance`` takes the first branch that matches.
    ordered = sorted(recomputed, key=lambda r: -len(r.cls.__mro__))
    described = "; ".join(f"{r.cls.__name__}'s {', '.join(r.buffers)}" for r in ordered)
    comment = (
        f"Buffers computed in __init__ and not saved ({described}): from_pretrained builds the model on the meta "
        "device and leaves them empty, so a module built with the same arguments computes them again."
    )
    lines = [
        "def _init_weights(self, module):",
        "    super()._init_weights(module)",
        *(f"    # {line}" for line in textwrap.wrap(comment, LINE_LENGTH - 2 * _INDENT - 2)),
    ]
    for index, recomputation in enumerate(ordered):
        name = cst.Module([]).code_for_node(plan.names.reference(recomputation.cls, where))
        call = [
            f"        computed = {name}(",
            *(f"            {parameter}={source}," for parameter, source in recomputation.arguments),
            "        )",
        ]
        lines += [
            f"    {'elif' if index else 'if'} isinstance(module, {name}):",
            *(call if recomputation.arguments else [f"        computed = {name}()"]),
            *(f"        module.{buffer}.copy_(computed.{buffer})" for buffer in recomputation.buffers),
        ]
    method = cst.parse_statement("\n".join(lines) + "\n")
    return method.with_changes(leading_lines=[cst.EmptyLine(indent=False)])
