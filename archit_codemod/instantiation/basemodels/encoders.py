"""The encoder of an encoder-decoder model, as a core of its own: which class, which config, which checkpoint keys.

transformers has encoder-only classes for some encoder-decoder architectures (``T5EncoderModel``,
``MT5EncoderModel``, ...: its ``AutoModelForTextEncoding`` mapping), which load the encoder weights of a full
checkpoint by themselves. For the others (BART, mBART, Pegasus, Marian, ..., and ``EncoderDecoderModel``) the full
model's ``get_encoder()`` is a ``PreTrainedModel`` of its own (``BartEncoder``, or the ``BertModel`` inside an
``EncoderDecoderModel``): it is the core. A full checkpoint is loaded by the full model class's own
``from_pretrained``, which knows the checkpoint's layout (and the embedding matrix the encoder shares with the
decoder), and its encoder is kept; the decoder's weights are freed once loaded. Which class that is, and which config
it takes, is read from the full model built on the ``meta`` device, which allocates no weights.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from typing import Any

import torch
from transformers import PretrainedConfig, PreTrainedModel
from transformers.models.auto.modeling_auto import (
    MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING,
    MODEL_FOR_TEXT_ENCODING_MAPPING,
    MODEL_MAPPING,
)

__all__ = ["EncoderPlan", "encoderPlan", "fullModelClass", "isEncoderDecoder"]

# Where transformers maps encoder-decoder configs to their full model (EncoderDecoderConfig has no AutoModel entry).
_FULL_MODEL_MAPPINGS = (MODEL_MAPPING, MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING)


@dataclass(frozen=True)
class EncoderPlan:
    """How to build and load the encoder of an encoder-decoder config as a core: ``core_class(core_config)``, and
    from a checkpoint ``full_class.from_pretrained(path, config=full_config).get_encoder()`` (``full_class`` is
    ``None`` when ``core_class`` loads full checkpoints by itself)."""

    core_class: type[PreTrainedModel]
    core_config: PretrainedConfig
    full_class: type[PreTrainedModel] | None = None
    full_config: PretrainedConfig | None = None

    def loadCore(
        self, checkpoint: str | os.PathLike, **kwargs: Any
    ) -> tuple[PreTrainedModel, dict[str, Any]]:
        """The encoder core from a checkpoint of the full model (base or with a head) or of the encoder class, and
        transformers' loading info, with the names of the full model's weights the core leaves out (the decoder's)
        under ``"decoder_keys"``."""
        loading_class = self.core_class if self.full_class is None else self.full_class
        config = self.core_config if self.full_class is None else self.full_config
        loaded, info = loading_class.from_pretrained(
            checkpoint, config=config, output_loading_info=True, **kwargs
        )
        if self.full_class is None:
            return loaded, info
        core = loaded.get_encoder()
        encoder_parameters = {id(parameter) for parameter in core.parameters()}
        unused = [
            name for name, parameter in loaded.named_parameters() if id(parameter) not in encoder_parameters
        ]
        return core, {**info, "decoder_keys": unused}


def isEncoderDecoder(config: PretrainedConfig) -> bool:
    """Whether ``config`` describes an encoder-decoder model (``T5Config``, ``BartConfig``, an
    ``EncoderDecoderConfig``, ...), whose base model is its encoder."""
    return bool(getattr(config, "is_encoder_decoder", False)) and any(
        type(config) in mapping for mapping in _FULL_MODEL_MAPPINGS
    )


def encoderPlan(config: PretrainedConfig) -> EncoderPlan | None:
    """The encoder core of an encoder-decoder ``config``; ``None`` for other configs, and for encoder-decoder models
    whose encoder is no ``PreTrainedModel`` of its own (those run their encoder inside the full model)."""
    if not isEncoderDecoder(config):
        return None
    found = _encoderCore(type(config), config.to_json_string())
    if found is None:
        return None
    core_class, config_attribute, loads_from_full_model = found
    if not loads_from_full_model:
        return EncoderPlan(core_class, config)
    core_config = config if config_attribute is None else getattr(config, config_attribute)
    return EncoderPlan(core_class, core_config, fullModelClass(config), config)


@functools.lru_cache(maxsize=64)
def _encoderCore(
    config_class: type[PretrainedConfig], config_json: str
) -> tuple[type[PreTrainedModel], str | None, bool] | None:
    """(encoder class, attribute of the config that is the encoder's config or ``None`` for the config itself,
    whether it is loaded out of the full model), read from models built on ``meta``; cached, since the flags
    transformers reads while a model is built ask for the core class several times.

    The text-encoding class comes first, if it takes the full config (``T5EncoderModel`` does; ``T5GemmaEncoderModel``
    wants a config made for it)."""
    config = config_class.from_dict(json.loads(config_json))
    text_encoding_class = MODEL_FOR_TEXT_ENCODING_MAPPING.get(config_class, None)
    if text_encoding_class is not None:
        try:
            with torch.device("meta"):
                text_encoding_class(config)
            return text_encoding_class, None, False
        except (ValueError, TypeError, AttributeError):
            pass
    with torch.device("meta"):
        full = fullModelClass(config)(config)
    encoder = full.get_encoder()
    if not isinstance(encoder, PreTrainedModel):
        return None
    config_attribute = next(
        (name for name, value in vars(config).items() if value is encoder.config and value is not config),
        None,
    )
    if config_attribute is not None and type(encoder.config) not in MODEL_MAPPING:
        # The encoder's own config (T5Gemma's module config) names no model class: the wrapper could not be
        # rebuilt from it, so the full model stays the core.
        return None
    return type(encoder), config_attribute, True


def fullModelClass(config: PretrainedConfig) -> type[PreTrainedModel]:
    """The class of the whole encoder-decoder model of ``config`` (``AutoModel``'s, or ``EncoderDecoderModel``)."""
    for mapping in _FULL_MODEL_MAPPINGS:
        if type(config) in mapping:
            return mapping[type(config)]
    raise ValueError(f"transformers has no encoder-decoder model class for {type(config).__name__}.")
