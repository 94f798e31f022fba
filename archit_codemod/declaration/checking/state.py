"""A module's instance state beyond its children, tensors, hooks and plain settings, as comparable data.

Whatever a module holds in its ``__dict__`` is part of what it computes: a ``forward`` bound to one instance
(attention-sink research code patches it with ``types.MethodType``), a steering object a layer's forward reads,
the per-instance kernel functions a class decorator gives each instance. The comparison
(:mod:`~archit_codemod.declaration.checking.compare`) sees these entries through :func:`instance_state`: each entry
described by what it is, recursively, never by identity:

- a function or method by its qualified name (``<script>.sink_forward`` for the script's own), a lambda by its
  parameters (``<lambda self, hidden_states>``: generated code writes the script's lambda where it is used);
- a bound method by its function, and whether it is bound to the module that holds it;
- a list, tuple, set or dict by its items (a dict's keys must be plain values);
- a tensor not registered as a parameter or buffer by its shape and dtype (any floating-point dtype alike); a device
  as one (any device alike), a floating-point dtype as one: placement and precision are choices of loading;
- a module of the model held as a plain attribute (a back-reference) by its path; another module, a class by its
  class; a config object as one (the
  settings it gives are compared where the modules hold them);
- any other object by its class and, one level deep, its own attributes.

What is not architecture stays out: torch's own bookkeeping (``_parameters``, the hook dictionaries...), the plain
settings (compared on their own), class metadata a private instance attribute copies (``_no_split_modules``) and
what transformers' ``post_init`` derives from it, what loading records (``from_pretrained``'s
``_is_hf_initialized``, accelerate's dispatch hooks) and what training sets (gradient checkpointing's function).
"""

from __future__ import annotations

import enum
import functools
import inspect
import types
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

__all__ = [
    "LOADING_STATE",
    "TRAINING_STATE",
    "StateValue",
    "describe",
    "instance_state",
    "qualified_name",
]

StateValue = Any
"""A hashable description of a value (nested tuples of strings, numbers and ``None``)."""

TORCH_BOOKKEEPING = frozenset(vars(nn.Module()))
"""What ``nn.Module.__init__`` puts in every module's ``__dict__``: children, tensors, hooks, the training flag."""

LOADING_STATE = frozenset(
    {
        "name_or_path",
        # transformers' from_pretrained
        "_is_hf_initialized",
        "_use_kernels",
        "_kernels_mode",
        "_weight_conversions",
        # accelerate's dispatch (device_map=...): a hook object and the forward it wraps
        "_hf_hook",
        "_old_forward",
    }
)
"""Instance attributes that record how a model was loaded or placed, not what it is."""

BOOKKEEPING_STATE = frozenset({"all_tied_weights_keys", "_ep_plan", "warnings_issued", "_internal_dict"})
"""What transformers' ``post_init`` derives from class attributes (the tied keys, compared as shared tensors; the
parallel plans), what a model records while it runs (the warnings it issued once), and diffusers' record of the
constructor's arguments (``ConfigMixin``'s config, which the modules' own settings show)."""

DISPLAY_STATE = frozenset({"extra_repr"})
"""How a module prints, not what it computes (torchao's ``quantize_`` binds an ``extra_repr`` to each module it
quantizes)."""

TRAINING_STATE = frozenset(
    {
        "_gradient_checkpointing_func",
        "_require_grads_hook",
        "_require_grads_hooks",
    }
)
"""Instance attributes that gradient checkpointing and ``enable_input_require_grads`` set: how a model trains."""

_DEPTH = 3
_MOST_ITEMS = 64


def instance_state(
    module: nn.Module,
    skip: frozenset[str] | set[str],
    local: Callable[[str], bool],
    copies: Mapping[str, str],
    paths: Mapping[nn.Module, str],
) -> dict[str, StateValue]:
    """Each entry of ``module.__dict__`` that is state (see the module docstring), described; ``skip`` names the
    entries compared elsewhere (the plain settings), ``paths`` the path of each module of the model (a reference
    to one is described by its path)."""
    found = {}
    dispatched = "_hf_hook" in vars(module)
    cls = type(module)
    for name, value in vars(module).items():
        if name in skip or name in TORCH_BOOKKEEPING or name in BOOKKEEPING_STATE:
            continue
        if name in LOADING_STATE or name in TRAINING_STATE or name in DISPLAY_STATE:
            continue
        if name.startswith("_") and hasattr(cls, name):
            continue  # class metadata copied to the instance (post_init's _no_split_modules): declared with the class
        if dispatched and name == "forward":
            continue  # accelerate's dispatch wraps forward per instance, around the class's
        if isinstance(value, torch.device) or (isinstance(value, torch.dtype) and value.is_floating_point):
            continue  # placement and precision are choices of loading, as for the plain settings
        found[name] = describe(value, local, copies, paths, owner=module)
    return found


def describe(
    value: Any,
    local: Callable[[str], bool],
    copies: Mapping[str, str],
    paths: Mapping[nn.Module, str],
    owner: nn.Module | None = None,
    depth: int = 0,
) -> StateValue:
    """``value`` as comparable data (see the module docstring)."""
    if value is None or type(value) in (bool, int, float, str, bytes, complex):
        return value
    if isinstance(value, enum.Enum):
        return ("enum", qualified_name(type(value), local, copies), value.name)
    if isinstance(value, torch.device):
        # Where the model was built (a library records it: PEFT's LoRA layers keep a device_map) is a choice of
        # loading, as for the modules' tensors.
        return ("torch", "device")
    if isinstance(value, torch.dtype):
        return ("torch", "floating point" if value.is_floating_point else str(value))
    if isinstance(value, types.MethodType):
        bound_to = (
            "its module" if value.__self__ is owner else qualified_name(type(value.__self__), local, copies)
        )
        return ("bound method", qualified_name(value.__func__, local, copies), bound_to)
    if isinstance(value, functools.partial):
        arguments = tuple(_nested(item, local, copies, paths, depth) for item in value.args)
        keywords = tuple(
            sorted((key, _nested(item, local, copies, paths, depth)) for key, item in value.keywords.items())
        )
        return ("partial", qualified_name(value.func, local, copies), arguments, keywords)
    if inspect.isroutine(value) or inspect.isclass(value):
        return ("class" if inspect.isclass(value) else "function", qualified_name(value, local, copies))
    if isinstance(value, torch.Tensor):
        # Floating-point precision is a choice of loading (from_pretrained(dtype=...) sets the default dtype
        # while __init__ runs), as for parameters and buffers.
        kind = "floating point" if value.is_floating_point() else str(value.dtype)
        return ("tensor", tuple(value.shape), kind)
    if isinstance(value, nn.Module) and value in paths:
        # A module of the model held as a plain attribute (a back-reference): by where it is, not by its class,
        # which a generated class renames.
        return ("module at", paths[value])
    if isinstance(value, nn.Module | RemovableHandle):
        # A module held as a plain attribute, a hook's handle: what they refer to is compared where it is.
        return (
            "module" if isinstance(value, nn.Module) else "object",
            qualified_name(type(value), local, copies),
        )
    if _is_config(value):
        return ("config",)
    if depth >= _DEPTH:
        return ("object", qualified_name(type(value), local, copies))
    if type(value) in (list, tuple):
        return (
            type(value).__name__,
            tuple(_nested(item, local, copies, paths, depth) for item in value[:_MOST_ITEMS]),
        )
    if type(value) in (set, frozenset):
        items = sorted(
            (_nested(item, local, copies, paths, depth) for item in list(value)[:_MOST_ITEMS]), key=repr
        )
        return (type(value).__name__, tuple(items))
    if isinstance(value, dict):
        items = list(value.items())[:_MOST_ITEMS]
        return (
            "dict",
            tuple(sorted(((repr(key), _nested(item, local, copies, paths, depth)) for key, item in items))),
        )
    attributes = getattr(value, "__dict__", None)
    if isinstance(attributes, dict) and depth == 0:
        own = sorted((key, _nested(item, local, copies, paths, depth)) for key, item in attributes.items())
        return ("object", qualified_name(type(value), local, copies), tuple(own[:_MOST_ITEMS]))
    return ("object", qualified_name(type(value), local, copies))


def _nested(
    value: Any,
    local: Callable[[str], bool],
    copies: Mapping[str, str],
    paths: Mapping[nn.Module, str],
    depth: int,
) -> StateValue:
    return describe(value, local, copies, paths, None, depth + 1)


def _is_config(value: Any) -> bool:
    # A model's config is compared by the settings its modules read from it, not as an object: a loaded model's
    # config records where it came from. Recognised by the method every transformers config has, without
    # importing transformers for a plain PyTorch model.
    return callable(getattr(type(value), "to_diff_dict", None))


def qualified_name(
    obj: Any, local: Callable[[str], bool] | None = None, copies: Mapping[str, str] | None = None
) -> str:
    """``module.QualName`` of a class or function; of the class of any other object (a hook object).

    ``<script>.QualName`` when ``local`` accepts the module (the traced script, or the generated package that copies
    its definitions); a function of a module that ``copies`` maps is named as the module it copies defines it (a
    vendored ``modeling_*.py``'s function, as transformers' own).
    """
    if isinstance(obj, functools.partial):
        return f"functools.partial({qualified_name(obj.func, local, copies)})"
    if inspect.ismethod(obj):
        obj = obj.__func__
    if inspect.isfunction(obj) and obj.__name__ == "<lambda>":
        # A lambda has no name to import it by: generated code writes the script's own where it is used (inside a
        # generated __init__, a vendored file), so it is told by its parameters, not by where it was written.
        parameters = obj.__code__.co_varnames[: obj.__code__.co_argcount + obj.__code__.co_kwonlyargcount]
        return f"<lambda {', '.join(parameters)}>"
    if not (inspect.isclass(obj) or inspect.isroutine(obj)):
        obj = type(obj)
    module = getattr(obj, "__module__", None) or "?"
    if copies and module in copies:
        module = copies[module]
    elif local is not None and local(module):
        module = "<script>"
    return f"{module}.{getattr(obj, '__qualname__', repr(obj))}"
