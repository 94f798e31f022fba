"""The path users take: the traced weights saved, then loaded again with ``from_pretrained``, give the traced outputs.

README tells users to load a declared model with its class's ``from_pretrained``, and vendor mode's remote code with
an Auto class and ``trust_remote_code=True``. Neither builds the model as its constructor does: transformers 5 builds
it on the ``meta`` device and fills what the checkpoint lacks through ``_init_weights`` (a buffer computed in
``__init__`` and not saved comes back uninitialised unless the class computes it again), and remote code is imported
from a copy of the folder. So where the functional check ran, verification also:

1. saves the generated model built on the CPU (it holds the traced weights, and gave the traced outputs) into a
   temporary folder with its library's ``save_pretrained``; in vendor mode the folder also holds the vendored files and
   a config whose ``auto_map`` names the root class, as ``--save-pretrained`` writes it;
2. loads it with the generated class's ``from_pretrained`` (vendor mode: the Auto class the ``auto_map`` names, with
   ``trust_remote_code=True``), the way a user does;
3. requires the traced model's outputs on the inputs the functional check compared.

What the generated class decides fails verification: what it builds on ``meta`` (the tensors the checkpoint should
fill), its code (an error raised in a generated file), the buffers it leaves unset (outputs that differ while every
saved tensor came back as saved). What the library's saving and loading does to values it does for any class that
declares such a model, and is reported as a reason the loading path was not checked: ``save_pretrained`` refusing
the model (tensors it cannot write) or writing no model checkpoint (a model with adapters added by ``add_adapter`` is
saved as its adapter alone), ``from_pretrained`` failing inside the library, or giving back other values
than it saved (a module that merges weights when put in eval mode).

transformers models (``PreTrainedModel``) and diffusers models (``ModelMixin``, saved and loaded by diffusers) have a
loading path; any other model is loaded with ``load_state_dict``, which the functional check did.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from archit_codemod.declaration.checking.functional import (
    ComparedOutputs,
    few,
    match_dtypes,
    quiet,
    require_same_outputs,
    short_error,
)
from archit_codemod.declaration.emitting.output import Output
from archit_codemod.declaration.errors import VerificationError
from archit_codemod.declaration.pretrained import is_pretrained_model, not_a_model_checkpoint

__all__ = ["LoadingPath", "OtherTensorsOnMetaError", "check_loading", "loading_path", "progress_bars_off"]

LoadingPath = Literal["transformers", "diffusers"]
"""Whose ``save_pretrained``/``from_pretrained`` a model goes through."""

OUTPUT_PACKAGE_PREFIX = "archit_codemod_output_"
"""Generated files are imported, while they are verified, as a package of this name and a number."""

GENERATED_PACKAGE_PREFIXES = (OUTPUT_PACKAGE_PREFIX, "transformers_modules.")
"""Modules of generated code while verification imports it: the output package, and remote code's copy of it."""

_counter = itertools.count()


class OtherTensorsOnMetaError(VerificationError):
    """Built on ``meta`` by ``from_pretrained``, the generated model holds other tensors than the traced one."""

    def __init__(self, message: str, *, keys: tuple[str, ...]) -> None:
        super().__init__(message)
        self.keys = keys


def loading_path(model: nn.Module) -> LoadingPath | None:
    """The library whose ``save_pretrained``/``from_pretrained`` users load ``model`` with; ``None`` for a model
    loaded with ``load_state_dict`` (plain torch, timm, torchvision...)."""
    if is_pretrained_model(model):
        return "transformers"
    if any(
        cls.__name__ == "ModelMixin" and cls.__module__.startswith("diffusers.")
        for cls in type(model).__mro__
    ):
        return "diffusers"
    return None


def check_loading(
    built: nn.Module,
    traced: nn.Module,
    compared: ComparedOutputs,
    output: Output,
    class_name: str,
    failure: str,
) -> str | None:
    """Save ``built`` (the generated root ``class_name``, built on the CPU with the traced weights, whose outputs on
    ``compared`` are the traced model's), load it back as users do, and require the same outputs.

    Returns why the loading path was not checked (the library cannot save or load such a model whatever class
    declares it), or ``None`` when it was (or the model has none beyond ``load_state_dict``).

    Raises:
        VerificationError: starting with ``failure``: the loaded model differs in what the generated class decides.
    """
    path = loading_path(built)
    if path is None:
        return None
    with tempfile.TemporaryDirectory(prefix="archit_codemod_loading_") as parent, progress_bars_off():
        # Remote code is copied into transformers' module cache under the folder's name: one of our own, removed after.
        folder = Path(parent) / f"archit_codemod_check_{os.getpid()}_{next(_counter)}"
        folder.mkdir()
        remote = path == "transformers" and output.mode == "vendor"
        auto_class = _auto_class(built, output, class_name) if remote else None
        try:
            _save(built, folder, output, auto_class is not None)
        except Exception as error:
            return f"{path}'s save_pretrained cannot save it ({short_error(error)})"
        unloadable = not_a_model_checkpoint(folder) if path == "transformers" else None
        if unloadable is not None:
            return unloadable
        try:
            loaded, info = _load(type(built), folder, auto_class, traced)
        except Exception as error:
            if _raised_in_generated_code(error):
                raise VerificationError(
                    f"{failure}: loaded with {_how(class_name, auto_class)}, it fails: {short_error(error)}"
                ) from error
            return f"{path}'s from_pretrained cannot load it back ({short_error(error)})"
        finally:
            if auto_class is not None:
                _forget_remote_code(folder.name)
        return _compare_loaded(loaded, info, built, traced, compared, _how(class_name, auto_class), failure)


def _compare_loaded(
    loaded: nn.Module,
    info: dict[str, Any],
    built: nn.Module,
    traced: nn.Module,
    compared: ComparedOutputs,
    how: str,
    failure: str,
) -> str | None:
    missing, unexpected = sorted(info.get("missing_keys") or ()), sorted(info.get("unexpected_keys") or ())
    if missing or unexpected:
        # The class built on meta holds the traced tensors (it loaded them strictly on the CPU): a name the loader
        # does not match is the loader's renaming, unless the meta build itself holds other tensors.
        loaded_keys, traced_keys = set(loaded.state_dict()), set(traced.state_dict())
        if loaded_keys != traced_keys:
            differing = tuple(sorted(loaded_keys ^ traced_keys))
            raise OtherTensorsOnMetaError(
                f"{failure}: loaded with {how}, it holds other tensors than the traced model: "
                f"{few(list(differing))} (the checkpoint's {few(missing or unexpected)} does not load). Fix: make "
                "the modules the script adds build the same tensors on the meta device, where from_pretrained builds "
                "models, as on the CPU.",
                keys=differing,
            )
        return f"{how} loads the saved tensors under other names ({few(missing or unexpected)})"
    changed = _changed_values(loaded, traced)
    if changed:
        return (
            f"{how} gives back other values than it saved ({few(changed)}), whatever class declares the model "
            "(a module that changes its weights when put in eval mode, which from_pretrained does)"
        )
    try:
        require_same_outputs(loaded, compared, failure, f"loaded with {how}")
    except VerificationError as failed:
        unset = _differing_unsaved_buffers(loaded, built)
        if not unset:
            raise
        raise VerificationError(
            f"{str(failed).rstrip('.')}. The buffers not saved in the checkpoint differ: {few(unset)}. Fix: keep "
            "the arguments of their module's constructor as attributes of the same names, so that the generated "
            "_init_weights can compute them again, or register them with persistent=True."
        ) from failed
    return None


def _how(class_name: str, auto_class: Any) -> str:
    if auto_class is not None:
        return f"{auto_class.__name__}.from_pretrained(..., trust_remote_code=True)"
    return f"{class_name}.from_pretrained"


def _auto_class(built: nn.Module, output: Output, class_name: str) -> Any:
    """The transformers Auto class that the ``auto_map`` of ``--save-pretrained`` points at ``class_name``, if any."""
    import transformers

    from archit_codemod.declaration.checkpoint import auto_map_for

    auto_map = auto_map_for(built.config.model_type, output)
    names = sorted(name for name, target in auto_map.items() if target.rpartition(".")[2] == class_name)
    return getattr(transformers, names[0]) if names else None


def _save(built: nn.Module, folder: Path, output: Output, with_auto_map: bool) -> None:
    """``built``'s library's ``save_pretrained`` into ``folder``; with the vendored files and an ``auto_map`` for
    remote code. ``built`` gets a config of its own first: saving writes ``architectures`` into the config, which
    the traced model may share."""
    config = getattr(built, "config", None)
    if with_auto_map:
        from archit_codemod.declaration.checkpoint import auto_map_for

        for file in output.files:
            (folder / file.name).write_text(file.text, encoding="utf-8")
        config = copy.deepcopy(config)
        config.auto_map = auto_map_for(config.model_type, output)
        built.config = config
    elif config is not None and not isinstance(config, dict):
        built.config = copy.deepcopy(config)
    with quiet():
        built.save_pretrained(folder)


def _load(cls: type, folder: Path, auto_class: Any, traced: nn.Module) -> tuple[nn.Module, dict[str, Any]]:
    """The model loaded from ``folder``, in eval mode, with the traced model's dtypes (which users ask for with
    ``dtype=``)."""
    with quiet():
        if auto_class is not None:
            loaded, info = auto_class.from_pretrained(
                folder, trust_remote_code=True, output_loading_info=True
            )
        else:
            loaded, info = cls.from_pretrained(folder, output_loading_info=True)
    loaded.eval()
    match_dtypes(loaded, traced)
    return loaded, info


def _raised_in_generated_code(error: BaseException) -> bool:
    """Whether ``error``'s traceback passes through a generated file (the output package, or its remote-code copy)."""
    traceback_ = error.__traceback__
    while traceback_ is not None:
        module = traceback_.tb_frame.f_globals.get("__name__", "")
        if isinstance(module, str) and module.startswith(GENERATED_PACKAGE_PREFIXES):
            return True
        traceback_ = traceback_.tb_next
    return False


def _changed_values(loaded: nn.Module, traced: nn.Module) -> list[str]:
    """The saved tensors of ``traced`` that ``loaded`` holds with other values."""
    loaded_state = loaded.state_dict()
    changed = []
    for key, value in traced.state_dict().items():
        again = loaded_state.get(key)
        if isinstance(value, torch.Tensor) and isinstance(again, torch.Tensor):
            if again.shape != value.shape or not torch.equal(again.to(value.dtype).cpu(), value.cpu()):
                changed.append(key)
    return changed


def _differing_unsaved_buffers(loaded: nn.Module, built: nn.Module) -> list[str]:
    """The non-persistent buffers of ``loaded`` whose values are not those of ``built`` (built by its constructor)."""
    built_buffers = dict(built.named_buffers())
    differing = []
    for module_path, module in loaded.named_modules():
        for name in sorted(module._non_persistent_buffers_set):
            key = f"{module_path}.{name}" if module_path else name
            buffer, expected = module._buffers.get(name), built_buffers.get(key)
            if buffer is None or expected is None:
                continue
            if buffer.shape != expected.shape or not torch.equal(
                buffer.cpu(), expected.cpu().to(buffer.dtype)
            ):
                differing.append(key)
    return differing


def _forget_remote_code(name: str) -> None:
    """Remove what ``trust_remote_code`` left of the folder ``name``: its modules, and its copy in transformers'
    module cache."""
    from transformers.utils import HF_MODULES_CACHE

    package = f"transformers_modules.{name}"
    for module in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        del sys.modules[module]
    shutil.rmtree(Path(HF_MODULES_CACHE) / "transformers_modules" / name, ignore_errors=True)


@contextlib.contextmanager
def progress_bars_off() -> Iterator[None]:
    """No progress bars on standard error while transformers saves and loads weights."""
    if "transformers" not in sys.modules:
        yield
        return
    from transformers.utils import logging as transformers_logging

    enabled = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            transformers_logging.enable_progress_bar()
