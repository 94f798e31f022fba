"""Compare a model rebuilt from generated code with the traced model, independently of the codemod.

Everything a user relies on is compared: the module tree and each module's class, parameter and buffer names,
shapes and dtypes, which parameters are one tensor (ties), forward and backward hooks, parametrizations (they
are submodules, so the tree covers them), plain settings (``num_labels``, ``layer_idx``, ``scaling``), that
nothing is left on the ``meta`` device, and finally the outputs on the same inputs.
"""

from __future__ import annotations

import copy
import enum
import functools
import math
import re
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn
from torch.nn.utils import prune

SUFFIX = "Modified"
"""The suffix the harness passes to the codemod (its default)."""

_HOOK_TABLES = ("_forward_pre_hooks", "_forward_hooks", "_backward_pre_hooks", "_backward_hooks")
_PLAIN_SCALARS = (type(None), bool, int, float, str, torch.dtype, torch.device, enum.Enum)


# --- classes --------------------------------------------------------------------------------------


def class_difference(
    built: type, traced: type, generated_modules: set[str], *, subclass_mode: bool
) -> str | None:
    """Why ``built`` (from the generated code) does not stand for ``traced``; ``None`` when it does.

    A class the generated code imports must be the traced class itself. A class the generated code defines
    (a subclass, a vendored copy, a copy of a script class) must carry the traced class's name, with or
    without the suffix (and a number after it); in subclass mode a suffixed class must subclass the traced class. torch builds a
    ``Parametrized<Name>`` class per parametrized module: those compare by the class they parametrize.
    """
    if built is traced:
        return None
    if _is_parametrized(built) and _is_parametrized(traced):
        return class_difference(
            built.__bases__[0], traced.__bases__[0], generated_modules, subclass_mode=subclass_mode
        )
    shown = (
        f"generated {built.__module__}.{built.__qualname__}, traced {traced.__module__}.{traced.__qualname__}"
    )
    if built.__module__ not in generated_modules:
        return shown
    if built.__qualname__ == traced.__qualname__:
        return None
    # Two different declarations of one class are told apart by a number: LlamaMLPModified, LlamaMLPModified2.
    if not re.fullmatch(re.escape(traced.__qualname__ + SUFFIX) + r"(\d*)", built.__qualname__):
        return shown
    if subclass_mode and traced.__module__ != "__main__" and not issubclass(built, traced):
        return f"{shown} (not a subclass of it)"
    return None


def _is_parametrized(cls: type) -> bool:
    return len(cls.__bases__) == 1 and cls.__name__ == f"Parametrized{cls.__bases__[0].__name__}"


# --- settings and hooks ---------------------------------------------------------------------------


def _is_plain(value: Any) -> bool:
    if isinstance(value, _PLAIN_SCALARS):
        return True
    if isinstance(value, (tuple, list, set, frozenset)):
        return all(_is_plain(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _is_plain(item) for key, item in value.items())
    return False


_DERIVED = frozenset(
    {
        "training",
        "gradient_checkpointing",
        "grad_checkpointing",
        "all_tied_weights_keys",
        "name_or_path",
        "hf_device_map",
        "pretrained_cfg",
        "default_cfg",
        "pretrained_model_args",
    }
)
"""Not settings: training state (the train/eval flag, the gradient checkpointing flags of transformers and of
timm: how a model trains, not what it computes, and not saved in a checkpoint), transformers' record of the ties
its ``post_init`` declared, which a script that breaks a tie leaves stale (ties themselves are compared as
tensors that are one), and loading records, like the device: the folder ``from_pretrained`` loaded the weights
from, where it placed them (``hf_device_map``, whose values are strings or ``torch.device``s by release), and the
pretrained-weights records (URL, hub id, preprocessing, the source checkpoint's arguments) that timm's
``create_model`` sets on a model after its constructor, whichever weights it then loads."""

_TRAINING_HOOKS = ("enable_input_require_grads.<locals>.make_inputs_require_grads",)
"""Hooks that are training state: transformers' ``gradient_checkpointing_enable`` makes the input embeddings'
output require grad with this forward hook."""

_RUN_TIME_HOOKS = ("install_output_capuring_hook.<locals>.output_capturing_hook",)
"""Hooks a library installs on a model's first forward pass, whatever class built it: transformers 5 (the name is
spelled so there) installs these output-capturing hooks then. The judge runs the traced model (vendor mode's
saved-folder check) before it compares the structure of a rebuilt model that has not run yet."""


def settings(module: nn.Module) -> dict[str, Any]:
    """The module's own public plain attributes (numbers, strings, flags, dtypes, containers of those), and its
    children set to ``None`` (``model.pooler = None`` on a model that had a pooler), which read as attributes
    set to ``None``, as the original ``__init__`` writes them (``self.pooler = ... if add_pooling_layer else None``)."""
    found = {name: None for name, child in module._modules.items() if child is None}
    found.update(
        (name, value)
        for name, value in vars(module).items()
        if not name.startswith("_") and name not in _DERIVED and _is_plain(value)
    )
    return found


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def _describe_hook(hook: Any) -> str:
    """A name for a hook that is equal for two hooks that behave alike."""
    if isinstance(hook, prune.BasePruningMethod):
        # Every pruning method applies its stored mask in the forward pre-hook; the method only chose the mask.
        return f"pruning of {hook._tensor_name}"
    if isinstance(hook, functools.partial):
        return f"partial({_describe_hook(hook.func)})"
    function = getattr(hook, "__func__", None)
    if function is not None:  # a bound method
        return f"{type(hook.__self__).__qualname__}.{function.__name__}"
    if hasattr(hook, "__qualname__"):
        return hook.__qualname__
    return type(hook).__qualname__


def hooks(module: nn.Module) -> dict[str, list[str]]:
    """The module's own forward and backward hooks, by kind, in the order they run."""
    found = {}
    for table in _HOOK_TABLES:
        registered = getattr(module, table, None) or {}
        described = [_describe_hook(hook) for hook in registered.values()]
        described = [name for name in described if not name.endswith(_TRAINING_HOOKS + _RUN_TIME_HOOKS)]
        if described:
            found[table.strip("_")] = described
    return found


# --- the whole comparison -------------------------------------------------------------------------


def _tensor_differences(
    kind: str, built: dict[str, torch.Tensor], traced: dict[str, torch.Tensor]
) -> list[str]:
    differences = [
        f"{name}: {kind} missing from the generated model" for name in traced.keys() - built.keys()
    ]
    differences += [f"{name}: {kind} not in the traced model" for name in built.keys() - traced.keys()]
    for name in sorted(traced.keys() & built.keys()):
        got, expected = built[name], traced[name]
        if got.is_meta:
            differences.append(f"{name}: {kind} left on the meta device")
        if tuple(got.shape) != tuple(expected.shape) or got.dtype != expected.dtype:
            differences.append(
                f"{name}: {kind} {tuple(got.shape)} {got.dtype}, traced {tuple(expected.shape)} {expected.dtype}"
            )
    return differences


def _sharing(model: nn.Module) -> set[frozenset[str]]:
    groups: dict[int, set[str]] = {}
    for name, parameter in model.named_parameters(remove_duplicate=False):
        groups.setdefault(id(parameter), set()).add(name)
    return {frozenset(names) for names in groups.values() if len(names) > 1}


_ABSENT = "<absent>"


def _module_differences(path: str, built: nn.Module, traced: nn.Module, config: Any) -> list[str]:
    shown = path or "<root>"
    differences = []
    built_settings, traced_settings = settings(built), settings(traced)
    for name in sorted(built_settings.keys() | traced_settings.keys()):
        got, expected = built_settings.get(name, _ABSENT), traced_settings.get(name, _ABSENT)
        if got is _ABSENT and _same_value(getattr(config, name, _ABSENT), expected):
            # A copy of a config value (``resize_token_embeddings`` sets ``model.vocab_size``): the class
            # rebuilds the model from that config, so the copy adds nothing.
            continue
        if not _same_value(got, expected):
            differences.append(f"{shown}.{name}: setting {got!r}, traced {expected!r}")
    if hooks(built) != hooks(traced):
        differences.append(f"{shown}: hooks {hooks(built)}, traced {hooks(traced)}")
    return differences


def model_differences(
    built: nn.Module, traced: nn.Module, generated_modules: set[str], *, subclass_mode: bool
) -> list[str]:
    """Every structural difference between ``built`` and ``traced`` (empty when they match)."""
    built_modules = dict(built.named_modules(remove_duplicate=False))
    traced_modules = dict(traced.named_modules(remove_duplicate=False))
    differences = [
        f"{p or '<root>'}: missing from the generated model"
        for p in traced_modules.keys() - built_modules.keys()
    ]
    differences += [
        f"{p or '<root>'}: not in the traced model" for p in built_modules.keys() - traced_modules.keys()
    ]
    for path in sorted(traced_modules.keys() & built_modules.keys()):
        got, expected = built_modules[path], traced_modules[path]
        problem = class_difference(type(got), type(expected), generated_modules, subclass_mode=subclass_mode)
        if problem is not None:
            differences.append(f"{path or '<root>'}: {problem}")
        differences += _module_differences(path, got, expected, getattr(traced, "config", None))
    differences += _tensor_differences(
        "parameter",
        dict(built.named_parameters(remove_duplicate=False)),
        dict(traced.named_parameters(remove_duplicate=False)),
    )
    differences += _tensor_differences(
        "buffer",
        dict(built.named_buffers(remove_duplicate=False)),
        dict(traced.named_buffers(remove_duplicate=False)),
    )
    for group in _sharing(traced) - _sharing(built):
        differences.append(
            f"{', '.join(sorted(group))}: one tensor in the traced model, not in the generated one"
        )
    for group in _sharing(built) - _sharing(traced):
        differences.append(
            f"{', '.join(sorted(group))}: one tensor in the generated model, not in the traced one"
        )
    return sorted(differences)


# --- outputs --------------------------------------------------------------------------------------


def output_tensors(output: Any) -> list[torch.Tensor]:
    """The tensors of a model output, in a stable order (caches and other objects are left out)."""
    if isinstance(output, torch.Tensor):
        return [output]
    if isinstance(output, dict):  # ModelOutput is a dict too
        return [tensor for key in sorted(output) for tensor in output_tensors(output[key])]
    if isinstance(output, (list, tuple)):
        return [tensor for item in output for tensor in output_tensors(item)]
    return []


def run(model: nn.Module, inputs: dict[str, Any]) -> list[torch.Tensor]:
    """The output tensors of ``model`` in eval mode on a fresh copy of ``inputs`` (some models mutate them)."""
    model.eval()
    with torch.no_grad():
        return output_tensors(model(**copy.deepcopy(inputs)))


def output_difference(built: nn.Module, traced: nn.Module, inputs: dict[str, Any]) -> str | None:
    """How the outputs of the two models differ on ``inputs``; ``None`` when they are equal."""
    got, expected = run(built, inputs), run(traced, inputs)
    if len(got) != len(expected):
        return f"outputs differ: {len(got)} tensors, traced {len(expected)}"
    for index, (a, b) in enumerate(zip(got, expected, strict=True)):
        if a.shape != b.shape:
            return f"outputs differ: tensor {index} has shape {tuple(a.shape)}, traced {tuple(b.shape)}"
        if not torch.allclose(a.float(), b.float(), atol=1e-5, rtol=1e-4):
            largest = (a.float() - b.float()).abs().max().item()
            return f"outputs differ: tensor {index} {tuple(a.shape)} by up to {largest:.3g}"
    return None


def perturb(model: nn.Module, seed: int = 3) -> None:
    """Move every plain floating-point parameter away from its initial value.

    Freshly initialised adapters are no-ops (LoRA's B is zero, IA3's scales are one), so equal outputs would
    prove nothing about them; after this, every parameter shows in the outputs. Quantized tensors are left alone.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            if (
                type(parameter.data) is torch.Tensor
                and parameter.is_floating_point()
                and not parameter.is_meta
            ):
                noise = torch.randn(parameter.shape, generator=generator, dtype=torch.float32)
                parameter.add_((0.05 * noise).to(parameter.dtype))


def meta_tensors(model: nn.Module) -> Iterable[str]:
    """Names of parameters and buffers still on the ``meta`` device."""
    for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
        if tensor.is_meta:
            yield name
