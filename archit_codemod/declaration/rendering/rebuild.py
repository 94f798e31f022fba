"""Read a module's constructor arguments back from its attributes: how to build it again as it is now.

A module changed in place has no recorded call that builds it as it is: a structured pruner shrinks an
``nn.Linear`` by replacing its ``weight`` and rewriting ``in_features``/``out_features``; a fixer clones a model by
pickling (no constructor runs) and edits the clone. Most classes keep each constructor argument under the
parameter's name (``nn.Linear.in_features``, ``nn.GroupNorm.num_groups``, ``nn.Conv2d.kernel_size``), and a
tensor argument that only says whether a tensor exists (``bias=True``) shows as that tensor or ``None``. The
arguments read back are used only when the class, called with them on ``meta``, builds a module with the same
tensors (names, shapes) and the same plain settings: a class that derives or hides its state is not guessed at.
"""

from __future__ import annotations

import enum
import inspect
from typing import Any

import torch
from torch import nn

from archit_codemod.declaration.checking.compare import differences, snapshot

__all__ = ["read_back"]

_PLACEMENT = frozenset({"device", "dtype"})
"""Parameters that place or cast the module: the loader's choice (a module in another dtype than its model's is
cast after its call, see the renderer)."""


def read_back(module: nn.Module) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
    """``(args, kwargs)`` with which ``type(module)`` builds a module like ``module`` is now; ``None`` when they cannot
    be read back from its attributes, or the class builds something else with them.

    Parameters without a default are passed positionally, the others by keyword where they differ from it.
    """
    cls = type(module)
    try:
        parameters = list(inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):
        return None
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for parameter in parameters:
        if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        if parameter.name in _PLACEMENT:
            continue
        found, value = _attribute(module, parameter)
        if not found:
            if parameter.default is inspect.Parameter.empty:
                return None
            continue
        if (
            parameter.default is inspect.Parameter.empty
            and parameter.kind is not inspect.Parameter.KEYWORD_ONLY
        ):
            if kwargs:
                return None  # a required parameter after an optional one that differs: keep it simple
            args.append(value)
        elif not _same(value, parameter.default):
            kwargs[parameter.name] = value
    if not _builds_the_same(module, tuple(args), kwargs):
        return None
    # A keyword that only spells its default another way (Conv2d keeps dilation=1 as (1, 1)) is left out.
    for name in list(kwargs):
        fewer = {key: value for key, value in kwargs.items() if key != name}
        if _builds_the_same(module, tuple(args), fewer):
            kwargs = fewer
    return tuple(args), kwargs


def _attribute(module: nn.Module, parameter: inspect.Parameter) -> tuple[bool, Any]:
    """``(found, value)`` of the attribute that holds ``parameter``'s argument: a plain value of the same name; for a
    boolean parameter, whether the tensor of its name exists (``bias=True``)."""
    name = parameter.name
    if isinstance(parameter.default, bool) and (name in module._parameters or name in module._buffers):
        tensor = module._parameters.get(name, module._buffers.get(name))
        return True, tensor is not None
    if name not in vars(module):
        return False, None
    value = vars(module)[name]
    return (True, value) if _is_plain(value) else (False, None)


def _is_plain(value: Any) -> bool:
    if value is None or type(value) in (bool, int, float, str) or isinstance(value, enum.Enum):
        return True
    if type(value) in (tuple, list):
        return all(_is_plain(item) for item in value)
    return False


def _same(value: Any, default: Any) -> bool:
    if default is inspect.Parameter.empty:
        return False
    if type(value) in (tuple, list) and type(default) in (tuple, list):
        return tuple(value) == tuple(default)
    return type(value) is type(default) and value == default


def _builds_the_same(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether ``type(module)(*args, **kwargs)``, built on ``meta``, has ``module``'s tensors and plain settings."""
    try:
        with torch.device("meta"):
            rebuilt = type(module)(*args, **kwargs)
    except Exception:  # a constructor that rejects what was read back: not built this way
        return False
    return not differences(snapshot(rebuilt), snapshot(module))
