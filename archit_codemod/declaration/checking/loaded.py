"""A model that its class's ``from_pretrained`` changed after building it: the reference is what that loads.

``LlamaForCausalLM.from_pretrained(path, quantization_config=BitsAndBytesConfig(load_in_4bit=True))`` builds the
model, then transformers' quantizer swaps its ``Linear`` layers (``bnb.nn.Linear4bit``, optimum-quanto's
``QLinear``) and sets ``quantization_method`` on it. The config keeps ``quantization_config``, so the class's own
``from_pretrained`` does all of it again for whoever loads the model: what the loading path does is the library's,
and there is nothing to declare. The tracer records the root as built within a library call
(:attr:`~archit_codemod.declaration.records.ConstructorCall.within`), and the config says what that call did
(``quantization_config``), so those changes are told from the script's.

The proof is the loading path itself: a folder with the traced model's config (``quantization_config`` included)
and the weights of the original class built from it on the CPU is loaded with the original class's
``from_pretrained``; the completeness check compares the traced model with that instead of with the class built by
its constructor. Values differ (fresh weights); the comparison is of structure, as with any reference.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import torch
from torch import nn

from archit_codemod.declaration.checking.functional import MAX_PARAMETERS, quiet
from archit_codemod.declaration.checking.loading import progress_bars_off
from archit_codemod.declaration.pretrained import is_pretrained_model
from archit_codemod.declaration.records import Trace

__all__ = ["changed_after_quantized_load", "loaded_as_declared", "reloaded_reference"]


def reloaded_reference(root: nn.Module, trace: Trace | None) -> nn.Module | None:
    """What ``type(root).from_pretrained`` loads, given ``root``'s quantization config, from a checkpoint of the
    original class, when a library call (``from_pretrained``) built ``root`` and its config records a quantization;
    ``None`` otherwise, or when the original class cannot be built on the CPU to save a checkpoint (a model above
    the functional check's size)."""
    call = trace.call_of(root) if trace is not None else None
    if call is None or call.within is None or not is_pretrained_model(root):
        return (
            None  # not built by a library call (the script's own constructor call changes nothing after it)
        )
    quantization = getattr(root.config, "quantization_config", None)
    if quantization is None or sum(p.numel() for p in root.parameters()) > MAX_PARAMETERS:
        return None
    # The config as the original class's checkpoint holds it: without what the quantizer recorded.
    settings = root.config.to_dict()
    settings.pop("quantization_config", None)
    config = type(root.config).from_dict(settings)
    with (
        tempfile.TemporaryDirectory(prefix="archit_codemod_reloaded_") as folder,
        quiet(),
        progress_bars_off(),
    ):
        try:
            with torch.device("cpu"), torch.random.fork_rng(devices=[]):
                unchanged = type(root)(config)
            unchanged.save_pretrained(Path(folder))
            return type(root).from_pretrained(Path(folder), quantization_config=copy.deepcopy(quantization))
        except Exception:  # the proof does not run: the changes stay as recorded, and are checked as such
            return None


def loaded_as_declared(roots: list[str], changed: list[str]) -> str:
    """Why there is nothing to declare when ``from_pretrained`` made every change to ``roots`` (``changed``: ``root:
    paths`` of the changes the tracer recorded)."""
    return (
        f"nothing to declare: from_pretrained changed {'; '.join(changed) or ', '.join(roots)} after building the "
        "model, as the "
        "quantization_config its config keeps asks (transformers' quantizer), and the original class's "
        "from_pretrained, given that quantization_config, changes a checkpoint of the original class exactly so. "
        "Fix: load the model as the script does, with the original class's from_pretrained (a checkpoint saved "
        "with save_pretrained keeps the quantization_config); no generated class is needed."
    )


def changed_after_quantized_load(root: str, changed: list[str]) -> str:
    """The refusal for a model that ``from_pretrained`` quantized and the script changed further (``changed``: the
    paths of its recorded changes that the loading path does not make)."""
    shown = ", ".join(changed[:5]) + (", ..." if len(changed) > 5 else "") if changed else "<root>"
    return (
        f"{root}: from_pretrained quantized the model (the quantization_config its config keeps), and the script "
        f"changed it further ({shown}); a generated class builds the model with its constructor, unquantized, so "
        "no class can declare both. Fix: run the script on the model loaded without quantization_config, then load "
        "the generated class with from_pretrained(..., quantization_config=...)."
    )
