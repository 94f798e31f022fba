"""Compare two models as plain data: what each module is, holds, runs and shares.

A :class:`ModelSnapshot` is taken once per model (:func:`snapshot`); :func:`differences` lists what differs
between two snapshots. The same comparison serves twice: the completeness check (the traced model against
its original class rebuilt on ``meta``) and verification (the traced model against the generated class).

Per module path (every path of a module reachable at several), a snapshot records:

- the class;
- its own parameters and buffers: shape, dtype, ``requires_grad``, device type, whether a buffer is
  saved in the ``state_dict``, and the class of a tensor subclass (torchao's quantized ``Int8Tensor``: the same
  shape and dtype, other data and another ``state_dict``);
- its forward, forward pre-, backward and backward pre-hooks, by the qualified name of the hook (the
  class of a hook object: torch's pruning methods and old-style ``weight_norm``/``spectral_norm`` are
  hook objects);
- its parametrizations (``torch.nn.utils.parametrize``): for each parametrized tensor, the
  parametrization classes in order and the shapes of the original tensors;
- its plain settings: the public attributes in the module's ``__dict__`` (and children set to ``None``), and
  the private ones the class reads through a property of the public name (``_disable_adapters``; compared only
  where both models have them),
  whose values are ``None``, ``bool``, ``int``, ``float``, ``str``, enum members, plain functions (by
  qualified name), integer and quantized dtypes (``torch.qint8``), or tuples and lists of those. Devices
  and floating-point dtypes are not settings (placement and precision are choices of loading, not of the
  architecture), nor are ``name_or_path`` and ``hf_device_map`` (the folder ``from_pretrained`` loaded from, and
  where it put the weights), nor anything else (the config, tensors, dicts, other objects). An attribute that one
  model has and the other lacks is no difference when its value is the module's ``config``'s attribute of
  the same name (``resize_token_embeddings`` sets ``model.vocab_size``);

and, for the whole model, which parameters and buffers are one tensor (ties and sharing).

Training state is recorded but not compared by default: ``training`` (the mode) and
``gradient_checkpointing`` (a setting of many transformers modules), each parameter's ``requires_grad``,
and the hook of transformers' ``enable_input_require_grads``. A model loaded with ``from_pretrained`` is in eval mode and a fresh one in train mode;
freezing layers or enabling checkpointing changes how a model trains, not what it computes, and none of it
is saved in a checkpoint. Pass ``training_state=True`` to compare them too.

Floating-point dtypes compare relative to each model's main dtype (the dtype of most parameter elements):
a model loaded in ``bfloat16`` is the same architecture as its class built in ``float32``; one ``float16``
layer inside a ``float32`` model is a difference. A ``float32`` tensor where the other model has its main
dtype is not (``from_pretrained`` keeps rotary frequencies and ``_keep_in_fp32_modules`` in ``float32``).
"""

from __future__ import annotations

import enum
import functools
import inspect
import math
import types
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import torch
from torch import nn

from archit_codemod.declaration.checking.state import (
    TORCH_BOOKKEEPING,
    StateValue,
    instance_state,
    qualified_name,
)

__all__ = [
    "ABSENT",
    "TRAINING_SETTINGS",
    "Difference",
    "DifferenceKind",
    "ModelSnapshot",
    "ModuleInfo",
    "TensorInfo",
    "differences",
    "own_snapshot",
    "path_and_ancestors",
    "same_class",
    "snapshot",
]

TRAINING_SETTINGS = frozenset({"training", "gradient_checkpointing"})
"""Module attributes that are training state, compared only with ``training_state=True``."""

LOADING_RECORDS = frozenset({"name_or_path", "hf_device_map"})
"""Attributes that record where the weights were loaded from and placed (transformers' ``from_pretrained``, its
``device_map``), not what the model is: a model built from its config and the same model loaded from a folder
differ there only."""
TRAINING_HOOKS = ("enable_input_require_grads.<locals>.make_inputs_require_grads",)
"""Endings of the qualified names of hooks that are training state: transformers' ``enable_input_require_grads``
(called by ``gradient_checkpointing_enable``) makes the input embeddings' output require grad."""

HOOK_KINDS = ("forward pre-hook", "forward hook", "backward pre-hook", "backward hook")
HOOK_DICTS = dict(
    zip(
        HOOK_KINDS,
        ("_forward_pre_hooks", "_forward_hooks", "_backward_pre_hooks", "_backward_hooks"),
        strict=True,
    )
)
"""Each hook kind and the ``nn.Module`` attribute that holds its hooks."""


@dataclass(frozen=True)
class TensorInfo:
    """One parameter or buffer, as data."""

    shape: tuple[int, ...]
    dtype: torch.dtype
    requires_grad: bool
    device: str
    """The device type (``"cpu"``, ``"meta"``, ...)."""
    persistent: bool = True
    """For a buffer: whether it is saved in the ``state_dict``."""
    subclass: str = ""
    """The qualified name of the tensor's class when it is a subclass of ``torch.Tensor`` other than
    ``nn.Parameter``; ``""`` for a plain tensor or parameter."""


@dataclass(frozen=True)
class ModuleInfo:
    """One module at one path, as data (its children are at their own paths)."""

    cls: type
    parameters: Mapping[str, TensorInfo]
    buffers: Mapping[str, TensorInfo]
    hooks: Mapping[str, tuple[str, ...]]
    """Hook kind (one of ``HOOK_KINDS``) -> the qualified names of the hooks, in the order they run."""
    parametrizations: Mapping[str, tuple[tuple[str, ...], tuple[tuple[int, ...], ...]]]
    """Parametrized tensor -> (qualified names of its parametrization classes, shapes of the originals)."""
    settings: Mapping[str, Any]
    """Plain settings, and the training settings (see the module docstring)."""
    restated: frozenset[str] = frozenset()
    """Settings whose value is the module's ``config``'s attribute of the same name (``vocab_size``)."""
    state: Mapping[str, StateValue] = field(default_factory=dict)
    """The rest of the module's ``__dict__``, described (:mod:`~archit_codemod.declaration.checking.state`):
    instance-bound methods, objects, containers, private values."""


@dataclass(frozen=True)
class ModelSnapshot:
    """A model as data: :class:`ModuleInfo` per module path, and which tensors are one."""

    modules: Mapping[str, ModuleInfo]
    """Module path (``""`` for the root) -> its info, in ``named_modules`` order."""
    shared: tuple[frozenset[str], ...]
    """Groups (two or more) of parameter and buffer names that are one tensor."""
    main_dtype: torch.dtype | None
    """The floating-point dtype of most parameter elements (``None`` without floating-point parameters)."""

    def tensor(self, name: str) -> TensorInfo | None:
        """The parameter or buffer ``name`` (a dotted name from the root)."""
        path, _, own = name.rpartition(".")
        info = self.modules.get(path)
        if info is None:
            return None
        return info.parameters.get(own) or info.buffers.get(own)


DifferenceKind = Literal[
    "module", "class", "parameter", "buffer", "hook", "parametrization", "setting", "state", "sharing"
]
TensorAspect = Literal["", "shape", "dtype", "class", "saved", "requires_grad"]


class _Absent:
    """The value of what one model does not have (``None`` is a setting's value like any other)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


@dataclass(frozen=True)
class Difference:
    """One thing that differs between an expected and a got model, with the two values as data.

    ``name`` is what differs at ``path`` (a tensor, a setting, an attribute, a hook kind, a parametrized tensor;
    ``""`` for the module itself). ``expected`` and ``got`` by ``kind``:

    - ``"module"``, ``"class"``: the qualified class name (``ABSENT`` for a module one model lacks);
    - ``"parameter"``, ``"buffer"``: by ``aspect``: ``""`` the shape (``ABSENT`` where one model lacks the tensor),
      ``"shape"`` the shapes, ``"dtype"`` the dtypes, ``"class"`` the tensor subclass names (``""`` for a plain
      tensor), ``"saved"`` whether it is in the ``state_dict``, ``"requires_grad"`` the flags;
    - ``"hook"``: the qualified names of the hooks of kind ``name``, in the order they run (``()`` for none);
    - ``"parametrization"``: ``(classes, shapes of the originals)``, or ``ABSENT``;
    - ``"setting"``: the plain value, or ``ABSENT``;
    - ``"state"``: the value described (:func:`~archit_codemod.declaration.checking.state.describe`), or ``ABSENT``;
    - ``"sharing"``: the names of the other tensors it is one tensor with (``()`` for none).
    """

    path: str
    kind: DifferenceKind
    name: str = ""
    aspect: TensorAspect = ""
    expected: Any = ABSENT
    got: Any = ABSENT
    related: tuple[str, ...] = ()
    """For ``"sharing"``: the other tensors (dotted names) it is one tensor with, on either side."""

    @property
    def where(self) -> str:
        """The module path, or the dotted tensor name for a tensor (``<root>`` for the root)."""
        if self.kind in ("parameter", "buffer", "sharing") and self.name:
            return f"{self.path}.{self.name}" if self.path else self.name
        return self.path or "<root>"

    @property
    def names(self) -> tuple[str, ...]:
        """The dotted names of what this is about: the module path, a setting or attribute of it, or, for ties,
        every tied tensor."""
        if self.kind == "sharing":
            return (self.where, *self.related)
        if self.kind == "setting":
            return (f"{self.path}.{self.name}" if self.path else self.name,)  # a child set to None reads so
        return (self.path,)

    def describe(self, expected_as: str = "expected", got_as: str = "got") -> str:
        """One line, naming the two sides ``expected_as`` and ``got_as`` (``"traced"``, ``"generated"``)."""
        if self.kind == "state":
            name, before, after = _first_differing_item(self.name, self.expected, self.got)
            if name != self.name:
                return replace(self, name=name, expected=before, got=after).describe(expected_as, got_as)
        expected, got = self._shown(self.expected), self._shown(self.got)
        if self.kind == "class":
            return f"{self.where}: {got_as} {got}, {expected_as} {expected}"
        if self.kind == "module":
            if got is None:
                return f"{self.where}: missing from the {got_as} model ({expected})"
            return f"{self.where}: not in the {expected_as} model ({got})"
        if self.kind == "sharing":
            return (
                f"{self.where}: one tensor with {expected or 'nothing'} in the {expected_as} model, "
                f"with {got or 'nothing'} in the {got_as} model"
            )
        if self.kind in ("parameter", "buffer"):
            label = self.kind  # the name is part of `where`
        elif self.kind == "hook":
            label = self.name  # "forward pre-hook"
        else:
            label = f"{self.kind} {self.name}"
        if expected is None:
            return f"{self.where}: {label} {got} not in the {expected_as} model"
        if got is None:
            return f"{self.where}: {label} {expected} missing from the {got_as} model"
        aspect = f" {self.aspect}" if self.aspect not in ("", "saved") else ""
        return f"{self.where}: {label}{aspect} {got}, {expected_as} {expected}"

    def _shown(self, value: Any) -> str | None:
        """``value`` as the line shows it; ``None`` for what a model does not have."""
        if value is ABSENT:
            return None
        if self.kind in ("hook", "sharing"):
            return ", ".join(value) or None
        if self.kind == "parametrization":
            classes, shapes = value
            return f"{' -> '.join(classes)} of original {', '.join(str(shape) for shape in shapes)}"
        if self.kind == "setting":
            return f"= {value!r}"
        if self.kind == "state":
            return _shown_state(value)
        if self.aspect == "class":
            return value or "torch.Tensor"
        if self.aspect == "saved":
            return "saved in the state_dict" if value else "not saved in the state_dict"
        return str(value)


# -- taking a snapshot ------------------------------------------------------------------------------------


def snapshot(
    model: nn.Module, local: Callable[[str], bool] | None = None, copies: Mapping[str, str] | None = None
) -> ModelSnapshot:
    """The :class:`ModelSnapshot` of ``model`` (reads attributes only; allocates nothing).

    Hooks and parametrizations whose module ``local`` accepts (the traced script, or the generated package that
    copies the script's definitions) are named ``<script>.QualName``, so that a copy compares equal. A function
    held as a setting (``rope_init_fn``) that a module of ``copies`` defines is named as the module it copies
    defines it (a vendored ``modeling_*.py``'s function, as transformers' own).
    """
    local = local or _nowhere
    copies = copies or {}
    # One walk of the model: named_parameters and named_buffers would walk it again each.
    named = list(model.named_modules(remove_duplicate=False))
    paths = {module: path for path, module in reversed(named)}
    modules = {path: _module_info(module, local, copies, paths) for path, module in named}
    groups: dict[int, list[str]] = {}
    for tensors in ("_parameters", "_buffers"):
        for path, module in named:
            for name, tensor in getattr(module, tensors).items():
                if tensor is not None:
                    groups.setdefault(id(tensor), []).append(f"{path}.{name}" if path else name)
    shared = tuple(frozenset(names) for names in groups.values() if len(names) > 1)
    return ModelSnapshot(modules, shared, main_dtype(model))


def own_snapshot(module: nn.Module) -> ModelSnapshot:
    """The :class:`ModelSnapshot` of ``module`` alone, without its children: compared with
    :func:`differences`, it says whether two modules hold the same tensors and settings of their own."""
    return ModelSnapshot({"": _module_info(module, _nowhere, {}, {module: ""})}, (), main_dtype(module))


def main_dtype(model: nn.Module) -> torch.dtype | None:
    """The floating-point dtype of most of ``model``'s parameter elements (``None`` without any)."""
    sizes: Counter[torch.dtype] = Counter()
    for parameter in model.parameters():
        if parameter.dtype.is_floating_point:
            sizes[parameter.dtype] += parameter.numel()
    return sizes.most_common(1)[0][0] if sizes else None


def _nowhere(module_name: str) -> bool:
    return False


def _module_info(
    module: nn.Module, local: Callable[[str], bool], copies: Mapping[str, str], paths: Mapping[nn.Module, str]
) -> ModuleInfo:
    settings = _settings(module, copies, local)
    non_persistent = getattr(module, "_non_persistent_buffers_set", set())
    return ModuleInfo(
        cls=type(module),
        parameters={
            name: _tensor_info(tensor) for name, tensor in module._parameters.items() if tensor is not None
        },
        buffers={
            name: _tensor_info(tensor, persistent=name not in non_persistent)
            for name, tensor in module._buffers.items()
            if tensor is not None
        },
        hooks={
            kind: tuple(qualified_name(hook, local) for hook in registered.values())
            for kind, attribute in HOOK_DICTS.items()
            if (registered := getattr(module, attribute, None))
        },
        parametrizations=_parametrizations(module, local),
        settings=settings,
        restated=_restated(module, settings),
        state=instance_state(module, settings.keys() | LOADING_RECORDS, local, copies, paths),
    )


def _tensor_info(tensor: torch.Tensor, *, persistent: bool = True) -> TensorInfo:
    return TensorInfo(
        shape=tuple(tensor.shape),
        dtype=tensor.dtype,
        requires_grad=tensor.requires_grad,
        device=tensor.device.type,
        persistent=persistent,
        subclass=_tensor_subclass(tensor),
    )


def _tensor_subclass(tensor: torch.Tensor) -> str:
    cls = type(tensor)
    if cls in (torch.Tensor, nn.Parameter) or issubclass(cls, nn.parameter.UninitializedTensorMixin):
        return ""
    return f"{cls.__module__}.{cls.__qualname__}"


def _parametrizations(
    module: nn.Module, local: Callable[[str], bool]
) -> dict[str, tuple[tuple[str, ...], tuple[tuple[int, ...], ...]]]:
    container = module.__dict__.get("_modules", {}).get("parametrizations")
    if not isinstance(container, nn.ModuleDict):
        return {}
    found = {}
    for tensor_name, chain in container.items():
        # One ``original``, or ``original0``, ``original1``... when the first parametrization splits it.
        originals = [
            tensor for name, tensor in chain.named_parameters(recurse=False) if name.startswith("original")
        ]
        originals += [
            tensor for name, tensor in chain.named_buffers(recurse=False) if name.startswith("original")
        ]
        shapes = tuple(tuple(tensor.shape) for tensor in originals)
        found[tensor_name] = (tuple(qualified_name(type(p), local) for p in chain), shapes)
    return found


def _settings(
    module: nn.Module, copies: Mapping[str, str], local: Callable[[str], bool] | None = None
) -> dict[str, Any]:
    # A child set to None reads as None, like an attribute set to None before any child of that name existed.
    settings = {name: None for name, child in module._modules.items() if child is None}
    cls = type(module)
    for name, value in vars(module).items():
        if name in _TORCH_PRIVATE or name in LOADING_RECORDS:
            continue
        # A private attribute is no setting, unless the class reads it through a property of the name without the
        # underscore: a public setting stored under another name (PEFT's ``disable_adapters`` reads
        # ``_disable_adapters``, which ``disable_adapter_layers()`` sets).
        if name.startswith("_") and not _is_property(cls, name[1:]):
            continue
        plain = _plain(value, copies, local)
        if plain is not _NOT_PLAIN:
            settings[name] = plain
    return settings


_TORCH_PRIVATE = frozenset(name for name in TORCH_BOOKKEEPING if name.startswith("_"))
"""The private entries ``nn.Module.__init__`` puts in every module's ``__dict__``: asked about first, as most
entries of most modules are these."""


@functools.cache
def _is_property(cls: type, name: str) -> bool:
    # Asked for each private attribute of each module of every snapshot: once per class is enough.
    return not name.startswith("_") and isinstance(inspect.getattr_static(cls, name, None), property)


def _restated(module: nn.Module, settings: dict[str, Any]) -> frozenset[str]:
    config = vars(module).get("config")
    if config is None:
        return frozenset()
    return frozenset(
        name for name, value in settings.items() if _same_value(_plain(_config_value(config, name)), value)
    )


def _config_value(config: Any, name: str) -> Any:
    """``config.<name>``, or ``_NOT_PLAIN`` when the config has none or none that holds for every layer."""
    try:
        return getattr(config, name, _NOT_PLAIN)
    except RuntimeError:
        # A heterogeneous config (per-layer overrides) refuses to read a per-layer setting globally: the config
        # states no single value for it.
        return _NOT_PLAIN


_NOT_PLAIN = object()


def _plain(
    value: Any, copies: Mapping[str, str] | None = None, local: Callable[[str], bool] | None = None
) -> Any:
    """``value`` as a comparable plain setting, or ``_NOT_PLAIN``; a function by the module ``copies`` names, or as the
    script's when ``local`` accepts its module (a script function the output copies)."""
    if isinstance(value, enum.Enum):
        return f"{qualified_name(type(value))}.{value.name}"
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, torch.dtype) and not value.is_floating_point:
        return str(value)  # a quantized or integer dtype is part of the architecture (torch.qint8)
    if isinstance(value, types.FunctionType | types.BuiltinFunctionType):
        return qualified_name(value, local, copies)
    if type(value) in (tuple, list):
        items = [_plain(item, copies, local) for item in value]
        return _NOT_PLAIN if any(item is _NOT_PLAIN for item in items) else tuple(items)
    return _NOT_PLAIN


# -- comparing --------------------------------------------------------------------------------------------


def same_class(expected: type, got: type) -> bool:
    """The same class, or both ``Parametrized<Name>`` classes of the same class.

    ``torch.nn.utils.parametrize`` builds a fresh ``Parametrized<Name>(<Name>)`` class for every
    parametrized instance, so those compare by the class they parametrize.
    """
    if expected is got:
        return True
    return (
        is_parametrized_class(expected) and is_parametrized_class(got) and expected.__bases__ == got.__bases__
    )


def is_parametrized_class(cls: type) -> bool:
    """Whether ``cls`` is one of the classes ``torch.nn.utils.parametrize`` builds per parametrized module."""
    return len(cls.__bases__) == 1 and cls.__name__ == f"Parametrized{cls.__bases__[0].__name__}"


def differences(
    expected: ModelSnapshot,
    got: ModelSnapshot,
    *,
    same_class: Callable[[type, type], bool] = same_class,
    training_state: bool = False,
) -> list[Difference]:
    """What differs between ``expected`` and ``got``, by path.

    Under a module that is missing from one side, or whose class differs, only that module is reported.
    """
    found: list[Difference] = []
    skipped: set[str] = set()
    for path in _union(expected.modules, got.modules):
        if _is_under_any(path, skipped):
            continue
        before, after = expected.modules.get(path), got.modules.get(path)
        if before is None or after is None:
            found.append(
                Difference(
                    path,
                    "module",
                    expected=_class_name(before.cls) if before else ABSENT,
                    got=_class_name(after.cls) if after else ABSENT,
                )
            )
            skipped.add(path)
            continue
        if not same_class(before.cls, after.cls):
            found.append(
                Difference(path, "class", expected=_class_name(before.cls), got=_class_name(after.cls))
            )
            skipped.add(path)
            continue
        found += _module_differences(path, before, after, expected.main_dtype, got.main_dtype, training_state)
    found += _sharing_differences(expected, got, skipped)
    return found


def _module_differences(
    path: str,
    expected: ModuleInfo,
    got: ModuleInfo,
    expected_dtype: torch.dtype | None,
    got_dtype: torch.dtype | None,
    training_state: bool,
) -> list[Difference]:
    found = []
    for kind, before, after in (
        ("parameter", expected.parameters, got.parameters),
        ("buffer", expected.buffers, got.buffers),
    ):
        for name in _union(before, after):
            found += _tensor_differences(
                path,
                kind,
                name,
                before.get(name),
                after.get(name),
                (expected_dtype, got_dtype),
                training_state,
            )
    for kind in _union(expected.hooks, got.hooks):
        before, after = expected.hooks.get(kind, ()), got.hooks.get(kind, ())
        if not training_state:
            before, after = _without_training_hooks(before), _without_training_hooks(after)
        if before != after:
            found.append(Difference(path, "hook", kind, expected=before, got=after))
    for name in _union(expected.parametrizations, got.parametrizations):
        before = expected.parametrizations.get(name, ABSENT)
        after = got.parametrizations.get(name, ABSENT)
        if before != after:
            found.append(Difference(path, "parametrization", name, expected=before, got=after))
    return (
        found
        + _setting_differences(path, expected, got, training_state)
        + _state_differences(path, expected, got)
    )


def _setting_differences(
    path: str, expected: ModuleInfo, got: ModuleInfo, training_state: bool
) -> list[Difference]:
    found = []
    for name in _union(expected.settings, got.settings):
        if name in TRAINING_SETTINGS and not training_state:
            continue
        before, after = expected.settings.get(name, ABSENT), got.settings.get(name, ABSENT)
        if before is ABSENT and name in got.restated or after is ABSENT and name in expected.restated:
            continue  # an attribute that only restates the config (resize_token_embeddings sets vocab_size)
        if name.startswith("_") and ABSENT in (before, after):
            continue  # a private setting compares by value: from_pretrained alone sets _use_kernels
        if not _same_value(before, after):
            found.append(Difference(path, "setting", name, expected=before, got=after))
    return found


def _state_differences(path: str, expected: ModuleInfo, got: ModuleInfo) -> list[Difference]:
    """Instance state that differs. A private plain value present on one side only is no difference: loading and
    libraries set private flags (``_is_hf_initialized``); a private object is (the per-instance kernel functions
    a class decorator adds)."""
    found = []
    for name in _union(expected.state, got.state):
        before, after = expected.state.get(name, ABSENT), got.state.get(name, ABSENT)
        if before == after:
            continue
        present = after if before is ABSENT else before
        if name.startswith("_") and ABSENT in (before, after) and not isinstance(present, tuple):
            continue
        found.append(Difference(path, "state", name, expected=before, got=after))
    return found


def _first_differing_item(
    name: str, before: StateValue, after: StateValue
) -> tuple[str, StateValue, StateValue]:
    """Where two descriptions of a container first differ: ``kwargs['device_map']`` and the item on each side, rather
    than "a dict" twice."""
    both_dicts = all(isinstance(side, tuple) and side[:1] == ("dict",) for side in (before, after))
    if not both_dicts:
        return name, before, after
    items_before, items_after = dict(before[1]), dict(after[1])
    for key in sorted(set(items_before) | set(items_after)):
        item_before, item_after = items_before.get(key, ABSENT), items_after.get(key, ABSENT)
        if item_before != item_after:
            return _first_differing_item(f"{name}[{key}]", item_before, item_after)
    return name, before, after


def _shown_state(description: StateValue) -> str:
    """A state description as a reader knows it: ``bound method <script>.sink_forward``, ``SteeringController``."""
    if not isinstance(description, tuple):
        return f"= {description!r}"
    kind, *rest = description
    if kind == "config":
        return "a config"
    if kind == "module at":
        return f"the module at {rest[0] or '<root>'}"
    if kind in ("bound method", "function", "class", "module", "partial"):
        return f"{kind} {rest[0]}"
    if kind == "object":
        return f"a {rest[0]}" + (" with other attributes" if len(rest) > 1 else "")
    if kind == "tensor":
        return f"a tensor of shape {rest[0]}"
    if kind == "torch":
        return f"a {rest[0]}" if rest[0] in ("device", "floating point") else f"= {rest[0]}"
    return f"a {kind}"


def _tensor_differences(
    path: str,
    kind: str,
    name: str,
    expected: TensorInfo | None,
    got: TensorInfo | None,
    main_dtypes: tuple[torch.dtype | None, torch.dtype | None],
    training_state: bool,
) -> list[Difference]:
    if expected is None or got is None:
        shapes = (expected.shape if expected else ABSENT, got.shape if got else ABSENT)
        return [Difference(path, kind, name, "", *shapes)]
    found = []
    if expected.shape != got.shape:
        found.append(Difference(path, kind, name, "shape", expected.shape, got.shape))
    if not _same_dtype_role(expected.dtype, got.dtype, main_dtypes):
        found.append(Difference(path, kind, name, "dtype", expected.dtype, got.dtype))
    if expected.subclass != got.subclass:
        found.append(Difference(path, kind, name, "class", expected.subclass, got.subclass))
    if expected.persistent != got.persistent:
        found.append(Difference(path, kind, name, "saved", expected.persistent, got.persistent))
    if training_state and expected.requires_grad != got.requires_grad:
        found.append(Difference(path, kind, name, "requires_grad", expected.requires_grad, got.requires_grad))
    return found


def _sharing_differences(expected: ModelSnapshot, got: ModelSnapshot, skipped: set[str]) -> list[Difference]:
    """Tensors that are one tensor on one side and not on the other (among the names both sides have)."""

    def peers(model: ModelSnapshot) -> dict[str, frozenset[str]]:
        return {name: group for group in model.shared for name in group}

    expected_peers, got_peers = peers(expected), peers(got)
    names = {name for name in [*expected_peers, *got_peers] if not _is_under_any(name, skipped)}
    common = {name for name in names if expected.tensor(name) is not None and got.tensor(name) is not None}
    found, reported = [], set()
    for name in sorted(common):
        before = (expected_peers.get(name, frozenset()) & common) - {name}
        after = (got_peers.get(name, frozenset()) & common) - {name}
        if before == after or name in reported:
            continue
        reported |= before | after | {name}
        path, _, own = name.rpartition(".")
        found.append(
            Difference(
                path,
                "sharing",
                own,
                expected=tuple(sorted(before)),
                got=tuple(sorted(after)),
                related=tuple(sorted(before | after)),
            )
        )
    return found


def _without_training_hooks(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(name for name in names if not name.endswith(TRAINING_HOOKS))


def _dtype_role(dtype: torch.dtype, main: torch.dtype | None) -> str:
    return "main" if dtype.is_floating_point and dtype == main else str(dtype)


def _same_dtype_role(
    expected: torch.dtype, got: torch.dtype, main_dtypes: tuple[torch.dtype | None, torch.dtype | None]
) -> bool:
    roles = {_dtype_role(expected, main_dtypes[0]), _dtype_role(got, main_dtypes[1])}
    # float32 beside the main dtype: from_pretrained keeps some tensors in float32 in a half-precision model.
    return len(roles) == 1 or roles == {"main", str(torch.float32)}


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def _union(first: Iterable[str], second: Iterable[str]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))


def path_and_ancestors(name: str) -> list[str]:
    """``name`` and every path it is under, up to the root ``""``: ``"a.b"`` -> ``["a.b", "a", ""]``.

    "Is ``name`` at or under one of these paths" is then one set lookup per level instead of a scan of the paths
    (which grows with the number of layers, as the paths do).
    """
    found = [name]
    while name:
        name = name.rpartition(".")[0]
        found.append(name)
    return found


def _is_under_any(name: str, paths: set[str]) -> bool:
    return any(path in paths for path in path_and_ancestors(name))


def _class_name(cls: type) -> str:
    return cls.__qualname__
