"""One module's constructor call, written so that generated code can make it again for any module of the class.

``OFTRotationModule(r=module.r, n_elements=module.n_elements, ...)``: each argument is read back from the module
itself where it keeps it (a setting under the parameter's name, or the child module it was given), else written as
the literal its recorded call passed (``factor=0.5``). Where the module came from a call the tracer did not record,
only the settings it keeps are read back. :func:`computed_buffers` builds one module in that form here, on the CPU,
and tells which of the traced module's unsaved buffers it computes exactly: only those are declared computed so.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from archit_codemod.declaration.checking.functional import quiet
from archit_codemod.declaration.records import Trace
from archit_codemod.declaration.rendering.objects import same_value

__all__ = ["CallForm", "call_form", "computed_buffers"]

_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


@dataclass(frozen=True)
class CallForm:
    """A call of a module's class: each argument as ``(parameter, source)``. Two modules share a form when their
    sources are the same; ``values`` are what the sources read on one module (to build it again here)."""

    sources: tuple[tuple[str, str], ...]
    values: Mapping[str, Any] = field(compare=False)


_DEFAULT = object()
"""An argument left to the parameter's default."""


class _NoFormError(Exception):
    """An argument that is neither read back from the module nor a literal."""


def call_form(module: nn.Module, trace: Trace | None) -> CallForm | None:
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
    return CallForm(tuple(sources), values)


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
        if given is _DEFAULT or same_value(kept, given):
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


def computed_buffers(module: nn.Module, form: CallForm | None) -> set[str]:
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
