"""Small helpers shared by both halves: printing and counting parameters, dataclass (de)serialisation, and
reading a checkpoint's tensors without building a model."""

from __future__ import annotations

import dataclasses
import enum
import importlib
import json
import os
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn

__all__ = [
    "checkpointToStateDict",
    "dataclass_from_dict",
    "dataclass_to_dict",
    "import_path",
    "import_from_path",
    "parameterCount",
    "parameterCountBaseVsHead",
    "standaloneCopyPackage",
    "standaloneModuleName",
    "torchPrint",
]

T = TypeVar("T")


def torchPrint(module: nn.Module, with_shapes: bool = True) -> None:
    """Print the module tree of ``module``, one line per named submodule, with parameter shapes if asked."""
    for name, submodule in module.named_modules():
        depth = name.count(".") + 1 if name else 0
        line = (
            "  " * depth
            + (name.rsplit(".", 1)[-1] or type(module).__name__)
            + f": {type(submodule).__name__}"
        )
        if with_shapes:
            shapes = [f"{p_name}{tuple(p.shape)}" for p_name, p in submodule.named_parameters(recurse=False)]
            if shapes:
                line += "  [" + ", ".join(shapes) + "]"
        print(line)


def parameterCount(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalars in the (trainable) parameters of ``module``; tied parameters are counted once."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def parameterCountBaseVsHead(model_with_head: nn.Module) -> tuple[int, int]:
    """``(parameters of the base model, parameters of the head only)`` of a ``ModelWithHead``.

    A head parameter tied to a base parameter (an LM decoder tied to the input embeddings) belongs to the base
    and is not counted again for the head.
    """
    base_ids = {id(p) for p in model_with_head.model.parameters()}
    base = sum(p.numel() for p in model_with_head.model.parameters())
    head = sum(p.numel() for p in model_with_head.head.parameters() if id(p) not in base_ids)
    return base, head


# A model folder written with save_pretrained(..., standalone=True) holds copies of this package's modules (and of
# the user's modules that define the model's classes) as flat files: module "a.b.c" is the file "a__b__c.py". There,
# transformers imports them as "<its package>.a__b__c". Import paths saved in configs stay the canonical "a.b.c.Name",
# so a folder loads the same with or without this package installed; a copy resolves them among its own siblings.
_COPY_SEPARATOR = "__"


def standaloneModuleName(module_name: str) -> str:
    """The flat module name of ``module_name``'s copy in a standalone model folder: ``"a.b.c"`` -> ``"a__b__c"``."""
    return module_name.replace(".", _COPY_SEPARATOR)


def standaloneCopyPackage() -> str | None:
    """The package of the copies when this module runs as a copy in a standalone model folder, else ``None``."""
    package, _, name = __name__.rpartition(".")
    return package if package and name == standaloneModuleName("archit_codemod.util") else None


def import_path(obj: type | types.FunctionType) -> str:
    """``"package.module.QualName"`` of a class or function, the inverse of :func:`import_from_path`. For a class
    of a standalone model folder's copies, the path of the module it is a copy of."""
    module = obj.__module__
    copies = standaloneCopyPackage()
    if copies is not None and module.startswith(copies + "."):
        module = module[len(copies) + 1 :].replace(_COPY_SEPARATOR, ".")
    return f"{module}.{obj.__qualname__}"


def import_from_path(path: str) -> Any:
    """Import ``"package.module.QualName"``, trying the longest importable module prefix first. In a standalone
    model folder's copies, the folder's copy of a module comes first."""
    parts = path.split(".")
    copies = standaloneCopyPackage()
    for split in range(len(parts) - 1, 0, -1):
        module_name, attributes = ".".join(parts[:split]), parts[split:]
        candidates = (
            [module_name]
            if copies is None
            else [f"{copies}.{standaloneModuleName(module_name)}", module_name]
        )
        for candidate in candidates:
            try:
                obj: Any = importlib.import_module(candidate)
            except ModuleNotFoundError as error:
                if error.name is not None and not candidate.startswith(error.name):
                    raise  # the module exists but one of its own imports is missing: report that, not the path
                continue
            try:
                for attribute in attributes:
                    obj = getattr(obj, attribute)
            except AttributeError:
                break
            return obj
    raise ImportError(
        f"Cannot import {path!r}. The checkpoint names a class that is not importable here; install the package "
        f"that defines it, or make sure the module is on the Python path."
    )


def dataclass_to_dict(instance: Any) -> dict[str, Any]:
    """JSON-ready dict of a dataclass instance: nested dataclasses become dicts, enum members their values."""

    def convert(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {f.name: convert(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, enum.Enum):
            return value.value
        if isinstance(value, Mapping):
            return {key: convert(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [convert(item) for item in value]
        return value

    if not (dataclasses.is_dataclass(instance) and not isinstance(instance, type)):
        raise TypeError(f"Expected a dataclass instance, got {type(instance).__name__}.")
    return convert(instance)


def dataclass_from_dict(dataclass_type: type[T], values: Mapping[str, Any] | T) -> T:
    """Build ``dataclass_type`` from a dict such as :func:`dataclass_to_dict` produces.

    Nested dataclass fields and enum fields are rebuilt from their type hints (also through ``Optional``).
    Unknown keys are an error naming them, so a typo in a saved config cannot pass silently.
    """
    if isinstance(values, dataclass_type):
        return values
    if not isinstance(values, Mapping):
        raise TypeError(
            f"Cannot build {dataclass_type.__name__} from a {type(values).__name__}; give a dict."
        )
    hints = typing.get_type_hints(dataclass_type)
    fields = {f.name: f for f in dataclasses.fields(dataclass_type) if f.init}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(
            f"{dataclass_type.__name__} has no field(s) {unknown}; its fields are {sorted(fields)}. "
            f"Remove the unknown keys or use the config class they belong to."
        )
    kwargs = {name: _coerce(hints.get(name, Any), value) for name, value in values.items()}
    return dataclass_type(**kwargs)


def _coerce(hint: Any, value: Any) -> Any:
    """Turn a JSON value back into the type that ``hint`` names, where that type is a dataclass or an enum."""
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(hint):
            if option is type(None):
                continue
            if (dataclasses.is_dataclass(option) and isinstance(value, Mapping)) or (
                isinstance(option, type) and issubclass(option, enum.Enum)
            ):
                return _coerce(option, value)
        return value
    if isinstance(hint, type) and dataclasses.is_dataclass(hint) and isinstance(value, Mapping):
        return dataclass_from_dict(hint, value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum) and not isinstance(value, hint):
        return hint(value)
    return value


def checkpointToStateDict(
    checkpoint: str | os.PathLike, keys: Iterable[str] | None = None
) -> dict[str, torch.Tensor]:
    """Read the tensors of a locally saved transformers checkpoint (folder or weights file), without a model.

    Handles ``model.safetensors``, sharded safetensors (with ``model.safetensors.index.json``) and the legacy
    ``pytorch_model.bin``. With ``keys``, only those tensors are read (safetensors reads them lazily).
    """
    path = Path(checkpoint)
    wanted = None if keys is None else set(keys)
    if path.is_dir():
        index = path / "model.safetensors.index.json"
        if index.exists():
            weight_map: dict[str, str] = json.loads(index.read_text())["weight_map"]
            files = sorted({file for key, file in weight_map.items() if wanted is None or key in wanted})
            state_dict: dict[str, torch.Tensor] = {}
            for file in files:
                state_dict.update(checkpointToStateDict(path / file, wanted))
            return state_dict
        for name in ("model.safetensors", "pytorch_model.bin"):
            if (path / name).exists():
                return checkpointToStateDict(path / name, wanted)
        raise FileNotFoundError(
            f"No model.safetensors, sharded safetensors index or pytorch_model.bin in {path}. "
            f"Give the folder that save_pretrained wrote."
        )
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as file:
            return {key: file.get_tensor(key) for key in file.keys() if wanted is None or key in wanted}
    state_dict = torch.load(path, map_location="cpu", weights_only=True)
    return {key: value for key, value in state_dict.items() if wanted is None or key in wanted}
