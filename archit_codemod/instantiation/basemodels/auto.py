"""``AutoBaseModel``: a base model wrapper for any architecture that transformers' ``AutoModel`` knows."""

from __future__ import annotations

import inspect
import os
from typing import Any

import torch
from transformers import AutoConfig, PretrainedConfig, PreTrainedModel
from transformers.models.auto.modeling_auto import MODEL_FOR_TEXT_ENCODING_MAPPING, MODEL_MAPPING

from archit_codemod.instantiation.basemodels.encoders import encoderPlan, fullModelClass, isEncoderDecoder
from archit_codemod.instantiation.basemodels.generic import TransformersBaseModel
from archit_codemod.instantiation.configs import BaseModelConfig
from archit_codemod.instantiation.loading import hubKwargs

__all__ = ["AutoBaseModel"]


class _WithoutVocabulary(TransformersBaseModel):
    """Reads configs that have no ``vocab_size`` (character-level models such as CANINE). Never instantiated."""

    standard_attribute_names = {"vocab_size": ()}


class AutoBaseModel(TransformersBaseModel):
    """Wraps whatever transformers builds for a config: ``AutoModel``'s class for encoders and decoders, and for
    encoder-decoder models their encoder, the same way from a config and from a checkpoint.

    - Encoder-decoder configs (T5, mT5, BART, mBART, Pegasus, ..., ``EncoderDecoderConfig``) get the encoder alone
      as the core (see :mod:`.encoders`): the class transformers registers for text encoding (``T5EncoderModel``),
      or the full model's ``get_encoder()`` class (``BartEncoder``; for ``EncoderDecoderModel`` its encoder's own
      class, whose config then is the wrapper's config). A checkpoint of the full model (base or with a head) loads
      its encoder weights into that core, and leaves the decoder's out. Encoder-decoder models whose encoder is not
      a ``PreTrainedModel`` of its own are built whole and only their ``get_encoder()`` runs.
    - Otherwise the class transformers registers for text encoding (``AutoModelForTextEncoding``), else
      ``AutoModel``'s.
    - The config is read through :data:`~.generic.STANDARD_ATTRIBUTE_NAMES` (the config's own attribute names and
      its ``attribute_map``); a value that cannot be found is a ``ValueError`` naming it and the names looked for.
      A config without ``vocab_size`` has no vocabulary (``vocab_size=None``, as CANINE); a config without a
      position limit (T5's relative positions) has ``context_length=None``; RoBERTa-like position ids that
      start after the padding index reduce the context length accordingly.
    - Decoders are called with ``use_cache=False`` (the wrapper runs whole sequences), unless the caller passes
      ``use_cache`` (``generate`` does).

    ``ForX.from_pretrained(checkpoint, AutoBaseModel, head_config)`` and ``AutoBaseModel.from_pretrained(checkpoint)``
    work for any checkpoint whose config type ``AutoModel`` knows, base model or model with head.
    """

    def __init__(self, config: PretrainedConfig, core: PreTrainedModel | None = None):
        plan = encoderPlan(config) if core is None else None
        # An encoder with a config of its own (EncoderDecoderModel's) is wrapped with that config, as when loaded.
        super().__init__(config if plan is None else plan.core_config, core=core)

    @classmethod
    def coreClassForConfig(cls, config: PretrainedConfig) -> type[PreTrainedModel]:
        plan = encoderPlan(config)
        if plan is not None:
            return plan.core_class
        config_type = type(config)
        if isEncoderDecoder(config):
            return fullModelClass(config)  # whose encoder runs alone (see runsEncoderOfFullModel)
        # Not conditional on `is_encoder_decoder` alone: T5EncoderModel sets it to False in the config it loads.
        if config_type in MODEL_FOR_TEXT_ENCODING_MAPPING:
            return MODEL_FOR_TEXT_ENCODING_MAPPING[config_type]
        if config_type in MODEL_MAPPING:
            return MODEL_MAPPING[config_type]
        raise ValueError(
            f"transformers' AutoModel has no model class for {config_type.__name__} (model_type "
            f"{getattr(config, 'model_type', None)!r}), so AutoBaseModel cannot wrap it. Fix: write a wrapper, "
            f"class MyBaseModel(TransformersBaseModel): core_class = <the model class>."
        )

    @classmethod
    def coreClass(cls) -> type[PreTrainedModel]:
        raise NotImplementedError(
            "AutoBaseModel wraps whichever class fits the config; ask coreClassForConfig(config) instead."
        )

    @classmethod
    def buildCore(cls, config: PretrainedConfig) -> PreTrainedModel:
        plan = encoderPlan(config)
        if plan is not None:
            return plan.core_class(plan.core_config, **cls.core_init_kwargs)
        return super().buildCore(config)

    @classmethod
    def coreFromPretrained(cls, checkpoint: str | os.PathLike, **kwargs: Any) -> tuple[PreTrainedModel, dict]:
        config = kwargs.pop("config", None)
        if config is None:
            config = AutoConfig.from_pretrained(checkpoint, **hubKwargs(kwargs))
        plan = encoderPlan(config)
        if plan is not None:
            return plan.loadCore(checkpoint, **kwargs)
        core_class = cls.coreClassForConfig(config)
        return core_class.from_pretrained(checkpoint, config=config, output_loading_info=True, **kwargs)

    @classmethod
    def standardiseConfig(cls, config: PretrainedConfig) -> BaseModelConfig:
        reader = (
            TransformersBaseModel if getattr(config, "vocab_size", None) is not None else _WithoutVocabulary
        )
        return TransformersBaseModel.standardiseConfig.__func__(reader, config)

    def runsEncoderOfFullModel(self) -> bool:
        """Whether the core is a whole encoder-decoder model of which only the encoder runs."""
        config = self.core.config
        return isEncoderDecoder(config) and type(self.core) is fullModelClass(config)

    def coreToRun(self) -> torch.nn.Module:
        return self.core.get_encoder() if self.runsEncoderOfFullModel() else self.core

    def coreForwardKwargs(self) -> dict[str, Any]:
        parameters = inspect.signature(self.coreToRun().forward).parameters
        return {"use_cache": False} if "use_cache" in parameters else {}
