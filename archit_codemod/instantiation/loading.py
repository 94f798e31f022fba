"""Loading checkpoints into a ``ModelWithHead``: one this package saved, or a transformers checkpoint (a base model,
or a model with its own head).

From a transformers checkpoint, only the core is loaded, with the core class's own public ``from_pretrained``; the
head is new, unless the head class declares how it maps the checkpoint's own head onto it
(``Head.transformers_head_mapping``, see :mod:`.heads.reuse`). A model that generates gets the checkpoint's
``generation_config.json`` when it has one.

From a checkpoint this package saved, ``ModelWithHead.from_pretrained`` reads the config (:func:`readOwnConfig`), hands
the checkpoint to the task class that saved it when that is a subclass (:func:`savedSubclass`), checks its arguments
(:func:`refuseArgumentsAgainstOwnCheckpoint`), and loads with transformers' ``PreTrainedModel.from_pretrained``.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

import torch
from transformers import GenerationConfig

from archit_codemod.instantiation.configs import CombinedConfig, HeadConfig
from archit_codemod.util import checkpointToStateDict, dataclass_to_dict, import_path

if TYPE_CHECKING:
    from archit_codemod.instantiation.abstracts.base_model import BaseModel
    from archit_codemod.instantiation.abstracts.model_with_head import ModelWithHead

__all__ = [
    "HUB_KWARGS",
    "hubKwargs",
    "loadFromTransformersCheckpoint",
    "loadMappedHeadWeights",
    "readOwnConfig",
    "refuseArgumentsAgainstOwnCheckpoint",
    "refuseContradictingHeadConfig",
    "savedSubclass",
]

logger = logging.getLogger(__name__)

# Keyword arguments of PreTrainedModel.from_pretrained that locate a checkpoint (as opposed to loading options).
HUB_KWARGS = ("cache_dir", "force_download", "proxies", "token", "revision", "local_files_only", "subfolder")


def hubKwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments among ``kwargs`` that locate a checkpoint (:data:`HUB_KWARGS`)."""
    return {key: kwargs[key] for key in HUB_KWARGS if key in kwargs}


def readOwnConfig(checkpoint: str | os.PathLike, kwargs: dict[str, Any]) -> CombinedConfig:
    """The combined config of a checkpoint this package saved, read with the checkpoint-locating keyword arguments
    among ``kwargs`` (those of ``from_pretrained``)."""
    config_kwargs = hubKwargs(kwargs)
    # The attention implementation is read by the core when it is built, from the base model's config, which
    # CombinedConfig gives it (transformers would only set it on the combined config).
    if kwargs.get("attn_implementation") is not None:
        config_kwargs["attn_implementation"] = kwargs["attn_implementation"]
    return CombinedConfig.from_pretrained(checkpoint, **config_kwargs)


def refuseArgumentsAgainstOwnCheckpoint(
    task_class: type[ModelWithHead],
    config: CombinedConfig,
    checkpoint: str | os.PathLike,
    base_model_class: type[BaseModel] | None,
    head_config: HeadConfig | None,
) -> None:
    """Refuse loading a checkpoint this package saved when its config names another task, or when the
    ``base_model_class`` or ``head_config`` given contradicts it (both are optional for such a checkpoint)."""
    task_class.refuseConfigOfOtherTask(config)
    if base_model_class is not None and import_path(base_model_class) != config.base_model_class:
        raise ValueError(
            f"The checkpoint {checkpoint} holds a {config.base_model_class}, not a {import_path(base_model_class)}. "
            f"Leave base_model_class out to use the checkpoint's, or pass that class."
        )
    if head_config is not None:
        refuseContradictingHeadConfig(head_config, config.head_config, checkpoint)


def savedSubclass(task_class: type[ModelWithHead], config: CombinedConfig) -> type[ModelWithHead] | None:
    """The class that saved ``config`` when it is a proper subclass of ``task_class`` (which then loads as it)."""
    saved = config.model_with_head_class
    if saved is None or saved in {import_path(klass) for klass in task_class.__mro__}:
        return None
    try:
        saved_class = config.modelWithHeadClass()
    except ImportError:
        return None  # refuseConfigOfOtherTask names it
    return saved_class if isinstance(saved_class, type) and issubclass(saved_class, task_class) else None


def loadFromTransformersCheckpoint(
    task_class: type[ModelWithHead],
    checkpoint: str | os.PathLike,
    config_dict: dict[str, Any],
    base_model_class: type[BaseModel] | None,
    head_config: HeadConfig | None,
    **kwargs: Any,
) -> ModelWithHead:
    """``task_class.from_pretrained`` for a checkpoint that transformers saved (kinds 1 and 2 there)."""
    model_type = config_dict.get("model_type")
    _refuseIncompleteArguments(task_class, checkpoint, model_type, base_model_class, head_config)
    core, info = base_model_class.coreFromPretrained(checkpoint, **kwargs)
    dropped = sorted(info.get("unexpected_keys", []))
    missing = sorted(info.get("missing_keys", []))
    if info.get("decoder_keys"):
        logger.info(
            f"{type(core).__name__} is the encoder of {checkpoint}; its decoder's {len(info['decoder_keys'])} "
            f"weight(s) are not kept."
        )
    if missing:
        logger.warning(
            f"{checkpoint} lacks {len(missing)} weight(s) of {type(core).__name__}, which stay randomly "
            f"initialised: {missing}. Is it a checkpoint of this architecture?"
        )
    model = task_class.fromModelAndHeadConfig(base_model_class.fromCore(core), head_config)

    mapped = None
    head_class = task_class.headClass()
    mapping = head_class.transformersHeadMapping()
    if dropped and mapping is not None:
        dropped_weights = checkpointToStateDict(_localFolder(checkpoint, kwargs), dropped)
        mapped = mapping(dropped_weights, core.config, model.head.base_config, head_config)
    if mapped is not None:
        loadMappedHeadWeights(model, mapped, checkpoint)
        logger.info(f"The head of {checkpoint} was mapped into the new {head_class.__name__}.")
    elif dropped:
        logger.warning(
            f"Dropped {len(dropped)} weight(s) of {checkpoint} that {base_model_class.__name__} does not use "
            f"(the checkpoint's own head, pooler or decoder); {task_class.__name__} gets a new "
            f"{head_class.__name__}. Dropped: {dropped}"
        )
    if model.can_generate():
        saved = _savedGenerationConfig(checkpoint, hubKwargs(kwargs))
        if saved is not None:
            model.generation_config = saved
    return model


def _refuseIncompleteArguments(
    task_class: type[ModelWithHead],
    checkpoint: str | os.PathLike,
    model_type: str | None,
    base_model_class: type[BaseModel] | None,
    head_config: HeadConfig | None,
) -> None:
    if base_model_class is None:
        raise ValueError(
            f"{checkpoint} is a transformers checkpoint (model_type {model_type!r}), not one saved by "
            f"archit_codemod, so say which base model wrapper to load it into: "
            f"{task_class.__name__}.from_pretrained(path, RobertaBaseModel, head_config)."
        )
    if head_config is None:
        raise ValueError(
            f"{checkpoint} is a transformers checkpoint (model_type {model_type!r}) without a head of this "
            f"package, so {task_class.__name__} builds a new {task_class.headClass().__name__}, and needs its config: "
            f"{task_class.__name__}.from_pretrained(path, {base_model_class.__name__}, "
            f"{task_class.headClass().configClass().__name__}(...))."
        )
    wrapped_type = getattr(base_model_class.configClass(), "model_type", "")
    if wrapped_type and model_type and model_type != wrapped_type:
        # transformers only warns, and would build a `wrapped_type` model around weights of another architecture.
        raise ValueError(
            f"{checkpoint} is a checkpoint of model_type {model_type!r}, but {base_model_class.__name__} wraps "
            f"{wrapped_type!r} models. Use the wrapper of {model_type!r}, or AutoBaseModel, which picks the class "
            f"from the checkpoint's config."
        )


def _savedGenerationConfig(
    checkpoint: str | os.PathLike, hub_kwargs: dict[str, Any]
) -> GenerationConfig | None:
    """The checkpoint's ``generation_config.json``, or ``None`` when it has none (a base model's checkpoint)."""
    try:
        return GenerationConfig.from_pretrained(checkpoint, **hub_kwargs)
    except OSError:
        return None


def loadMappedHeadWeights(model: ModelWithHead, mapped: dict[str, torch.Tensor], checkpoint: Any) -> None:
    """Load what the head class's ``transformers_head_mapping`` returned into ``model.head``. Parameters tied to the base
    model may be left out (a tied decoder is not stored apart in the checkpoint, and already holds the loaded
    embeddings); any other missing or unknown name is a bug of the mapping, refused before anything is loaded."""
    reference = model.head.state_dict()
    unknown = sorted(set(mapped) - set(reference))
    missing = sorted(set(reference) - set(mapped) - model.headParametersTiedToBaseModel())
    if unknown or missing:
        raise ValueError(
            f"{type(model.head).__name__}.transformers_head_mapping mapped the head of {checkpoint} onto names "
            f"that do not fit the head: unknown {unknown}, missing {missing} (only parameters tied to the base "
            f"model may be left out). Fix the mapping so it returns exactly the head's state dict keys."
        )
    model.head.load_state_dict(
        {
            key: value.to(device=reference[key].device, dtype=reference[key].dtype)
            for key, value in mapped.items()
        },
        strict=False,
    )


def refuseContradictingHeadConfig(given: HeadConfig, saved: HeadConfig, checkpoint: Any) -> None:
    """Refuse a ``head_config`` argument that differs from the head config saved in the checkpoint."""
    if type(given) is not type(saved):
        raise ValueError(
            f"head_config is a {type(given).__name__}, but {checkpoint} holds a {type(saved).__name__}. "
            f"Leave head_config out to use the checkpoint's."
        )
    given_values, saved_values = dataclass_to_dict(given), dataclass_to_dict(saved)
    differences = {
        key: (given_values[key], saved_values[key])
        for key in given_values
        if given_values[key] != saved_values.get(key)
    }
    if differences:
        listed = ", ".join(
            f"{key}={mine!r} (checkpoint: {theirs!r})" for key, (mine, theirs) in differences.items()
        )
        raise ValueError(
            f"head_config contradicts the head saved in {checkpoint}: {listed}. The saved head weights only fit the "
            f"saved config; leave head_config out, or load only the base model into a new head from a base checkpoint."
        )


def _localFolder(checkpoint: str | os.PathLike, kwargs: dict[str, Any]) -> str:
    """The local folder of a checkpoint (a path, or a hub id already fetched into the cache by from_pretrained)."""
    if os.path.isdir(checkpoint):
        return str(checkpoint)
    from transformers.utils import cached_file

    for name in ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin"):
        try:
            return os.path.dirname(cached_file(checkpoint, name, **hubKwargs(kwargs)))
        except OSError:
            continue
    raise FileNotFoundError(f"Cannot find the weights of {checkpoint}.")
