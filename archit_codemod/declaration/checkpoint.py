"""``--save-pretrained``: the traced weights saved with the vendored classes, loadable as remote code.

The vendored root class is built from the traced model's config, the traced ``state_dict`` is loaded into it
strictly, and transformers' own ``save_pretrained`` writes config and weights. The config gets
``architectures`` (set by ``save_pretrained`` from the class name) and an ``auto_map`` that points each
``AutoModel*`` class at the vendored class, so that
``AutoModelFor<Task>.from_pretrained(folder, trust_remote_code=True)`` rebuilds the modified model. The
config class itself is transformers' own (its ``model_type`` is registered), so ``AutoConfig`` needs no entry.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from torch import nn

from archit_codemod.declaration.checking.functional import short_error
from archit_codemod.declaration.checking.verify import load_output
from archit_codemod.declaration.emitting.output import Output
from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.pretrained import is_pretrained_model, not_a_model_checkpoint

__all__ = ["auto_map_for", "save_pretrained"]

# Auto classes whose mapping constant does not follow the AutoModelForX <-> MODEL_FOR_X_MAPPING_NAMES pattern.
_MAPPING_ALIASES = {"forseqtoseqcausallm": "forseq2seqlm"}


def _auto_class_mappings() -> dict[str, dict[str, object]]:
    """``{"AutoModelForMaskedLM": {model_type: class name(s)}, ...}`` from transformers' public constants."""
    import transformers
    from transformers.models.auto import modeling_auto

    by_key = {}
    for name in dir(modeling_auto):
        if name.startswith("MODEL_") and name.endswith("_MAPPING_NAMES"):
            key = name.removeprefix("MODEL").removesuffix("_MAPPING_NAMES").replace("_", "").lower()
            by_key[_MAPPING_ALIASES.get(key, key)] = getattr(modeling_auto, name)
    mappings = {}
    for name in dir(transformers):
        if name.startswith("AutoModel") and not name.startswith(("TF", "Flax")):
            key = name.removeprefix("AutoModel").lower()
            if key in by_key:
                mappings[name] = by_key[key]
    return mappings


def auto_map_for(model_type: str, output: Output) -> dict[str, str]:
    """``auto_map`` entries (``{"AutoModelForMaskedLM": "modeling_roberta.RobertaForMaskedLMModified"}``) for
    every auto class that maps ``model_type`` to the original of a vendored class."""
    auto_map = {}
    for auto_class, mapping in sorted(_auto_class_mappings().items()):
        mapped = mapping.get(model_type)
        names = {mapped} if isinstance(mapped, str) else set(mapped or ())
        for vendored_name, (original, module) in output.classes.items():
            if original.__name__ in names:
                auto_map[auto_class] = f"{module}.{vendored_name}"
    return auto_map


def save_pretrained(output: Output, roots: dict[str, nn.Module], directory: Path) -> None:
    """Save the traced weights of the (single) root model with its vendored class into ``directory``.

    ``directory`` must already hold the vendored files (they are imported from there).

    Raises:
        DeclarationError: the model cannot be saved (several roots, not a transformers model, weights on
            the ``meta`` device); the message says what to do.
    """

    if len(output.roots) != 1:
        raise DeclarationError(
            f"--save-pretrained saves one model, but the script modified {len(output.roots)} "
            f"({', '.join(output.roots)}). Fix: choose one with --model NAME."
        )
    [(root_name, (module, class_name))] = output.roots.items()
    root = roots[root_name]
    if not is_pretrained_model(root):
        raise DeclarationError(
            f"--save-pretrained: {root_name} is a {type(root).__qualname__}, not a transformers PreTrainedModel, "
            "so it has no config to save. Fix: omit --save-pretrained."
        )
    if any(tensor.is_meta for tensor in [*root.parameters(), *root.buffers()]):
        raise DeclarationError(
            f"--save-pretrained: {root_name} has weights on the meta device, so there are none to save. "
            "Fix: build the model on a real device in the script, or omit --save-pretrained."
        )
    state_dict = root.state_dict()
    _refuse_entries_that_are_no_tensors(root_name, state_dict)
    config = copy.deepcopy(root.config)
    config.auto_map = auto_map_for(config.model_type, output)
    with load_output(output, directory) as package:
        model_class = getattr(package.module(module), class_name)
        model = model_class(config)
        model.load_state_dict(state_dict, strict=True)
        try:
            model.save_pretrained(directory)
        except Exception as error:
            raise DeclarationError(
                f"--save-pretrained: transformers' save_pretrained cannot save {root_name} "
                f"({short_error(error)}). Fix: omit --save-pretrained; build the model with "
                f"{class_name}(config) and load its state_dict with load_state_dict."
            ) from None
    unloadable = not_a_model_checkpoint(directory)
    if unloadable is not None:
        raise DeclarationError(
            f"--save-pretrained: {root_name} cannot be saved as a checkpoint that {class_name}.from_pretrained "
            f"loads: {unloadable}. Fix: omit --save-pretrained; build the model with {class_name}(config) and "
            "load its state_dict with load_state_dict."
        )


def _refuse_entries_that_are_no_tensors(root_name: str, state_dict: dict) -> None:
    """transformers' ``save_pretrained`` writes tensors only: torch's dynamically quantized ``Linear`` keeps its
    weight dtype (``torch.qint8``, ``torch.float16``) in its ``state_dict`` beside the packed weights."""
    for key, value in state_dict.items():
        if not isinstance(value, torch.Tensor):
            module_path = key.rpartition(".")[0].removesuffix("._packed_params") or "<root>"
            raise DeclarationError(
                f"--save-pretrained: {root_name}.{module_path} (a {type(value).__qualname__} at {key!r} of its "
                "state_dict, not a tensor) cannot be saved by transformers' save_pretrained, which writes "
                "tensors only. Fix: omit --save-pretrained; build the model with the generated class and load its "
                "state_dict with load_state_dict."
            )
