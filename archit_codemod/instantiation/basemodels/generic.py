"""One generic wrapper for any transformers base model; architecture classes only state what differs."""

from __future__ import annotations

import os
from typing import Any, ClassVar

from transformers import PretrainedConfig, PreTrainedModel

from archit_codemod.instantiation.abstracts.base_model import PC, BaseModel
from archit_codemod.instantiation.configs import BaseModelConfig

__all__ = [
    "POSITIONS_OFFSET_BY_PADDING",
    "configsToRead",
    "STANDARD_ATTRIBUTE_NAMES",
    "TransformersBaseModel",
    "usableContextLength",
]

# Where transformers configs keep the values of BaseModelConfig, in order of preference. Names that a config's
# attribute_map translates (GPT-2 maps hidden_size -> n_embd) are found under the standard name already.
STANDARD_ATTRIBUTE_NAMES: dict[str, tuple[str, ...]] = {
    "hidden_size": ("hidden_size", "d_model", "n_embd", "dim", "embed_dim", "hidden_dim"),
    "hidden_dropout_prob": (
        "hidden_dropout_prob",
        "hidden_dropout",
        "resid_pdrop",
        "dropout",
        "dropout_rate",
        "mlp_dropout",
        "embedding_dropout",
    ),
    "vocab_size": ("vocab_size",),
    "num_hidden_layers": ("num_hidden_layers", "n_layer", "num_layers", "n_layers", "encoder_layers"),
    "num_attention_heads": (
        "num_attention_heads",
        "n_head",
        "num_heads",
        "n_heads",
        "encoder_attention_heads",
    ),
    "context_length": (
        "max_position_embeddings",
        "n_positions",
        "max_seq_len",
        "max_sequence_length",
        "seq_length",
        "n_ctx",
    ),
}
# Fields a config may lack: dropout then counts as 0, the context length as unbounded, attention heads as none
# (attention-free models such as Mamba or FNet).
_OPTIONAL_DEFAULTS: dict[str, Any] = {
    "hidden_dropout_prob": 0.0,
    "context_length": None,
    "num_attention_heads": None,
}

# Architectures whose position ids start after the padding index (RoBERTa's scheme), so the usable context is
# max_position_embeddings - (pad_token_id + 1): 512 for roberta-base's 514.
POSITIONS_OFFSET_BY_PADDING = frozenset(
    {
        "roberta",
        "xlm-roberta",
        "xlm-roberta-xl",
        "camembert",
        "roberta-prelayernorm",
        "data2vec-text",
        "longformer",
    }
)


def usableContextLength(config: PretrainedConfig, position_limit: int | None) -> int | None:
    """How many tokens one forward may take, given the config's number of position embeddings: fewer than that
    for RoBERTa-like models, whose position ids start at ``pad_token_id + 1``."""
    pad_token_id = getattr(config, "pad_token_id", None)
    if (
        position_limit is None
        or pad_token_id is None
        or getattr(config, "model_type", None) not in POSITIONS_OFFSET_BY_PADDING
    ):
        return position_limit
    return position_limit - pad_token_id - 1


# Sub-configs of composite configs that describe the part a base model's output comes from, in order of preference.
_SUB_CONFIG_PREFERENCE = (
    "text_config",
    "text_encoder",
    "encoder",
    "encoder_config",
    "decoder",
    "decoder_config",
)


def configsToRead(config: PretrainedConfig) -> list[PretrainedConfig]:
    """``config``, then its sub-configs (text and encoder parts first): where a value that the config itself lacks is
    looked for, for composite configs that keep their sizes in sub-configs (T5Gemma's encoder, BLT's parts)."""
    names = list(getattr(config, "sub_configs", None) or {})
    names.sort(key=lambda name: _SUB_CONFIG_PREFERENCE.index(name) if name in _SUB_CONFIG_PREFERENCE else 99)
    parts = [getattr(config, name, None) for name in names]
    return [config, *(part for part in parts if isinstance(part, PretrainedConfig))]


class TransformersBaseModel(BaseModel[PC]):
    """Wraps any transformers base model class. A subclass sets the class attributes below and nothing else:

    - ``core_class``: the transformers model class of the core (``RobertaModel``); ``config_class`` follows it
      unless set.
    - ``core_init_kwargs``: extra constructor arguments of the core, also passed to its ``from_pretrained``
      (``{"add_pooling_layer": False}``).
    - ``core_forward_kwargs``: extra arguments of every core call (``{"use_cache": False}`` for decoders, so no
      key/value cache is built during training).
    - ``standard_attribute_names``: overrides of :data:`STANDARD_ATTRIBUTE_NAMES` for configs that name a value
      unusually; a field mapped to ``()`` is ``None`` (CANINE has no ``vocab_size``: it reads characters).

    A wrapper of several architectures (``AutoBaseModel``) leaves ``core_class`` unset and overrides
    :meth:`coreClassForConfig` and :meth:`coreFromPretrained` instead; :meth:`buildCore`, :meth:`standardiseConfig`
    and ``forward`` work as they are.
    """

    core_class: ClassVar[type[PreTrainedModel] | None] = None
    core_init_kwargs: ClassVar[dict[str, Any]] = {}
    core_forward_kwargs: ClassVar[dict[str, Any]] = {}
    standard_attribute_names: ClassVar[dict[str, tuple[str, ...]]] = {}

    def __init_subclass__(cls, **kwargs: Any):
        # Asked before PreTrainedModel.__init_subclass__ runs: it writes the inherited config_class into every
        # subclass's own namespace.
        declares_config_class = "config_class" in cls.__dict__
        super().__init_subclass__(**kwargs)
        # Each wrapper declares the core's config class, so PreTrainedModel checks and from_pretrained use it.
        if not declares_config_class and cls.__dict__.get("core_class") is not None:
            cls.config_class = cls.core_class.config_class

    @classmethod
    def coreClass(cls) -> type[PreTrainedModel]:
        if cls.core_class is None:
            raise NotImplementedError(
                f"{cls.__name__} sets no core_class; set it, or override coreClassForConfig() for a wrapper of "
                f"several architectures."
            )
        return cls.core_class

    @classmethod
    def buildCore(cls, config: PC) -> PreTrainedModel:
        return cls.coreClassForConfig(config)(config, **cls.core_init_kwargs)

    @classmethod
    def coreFromPretrained(cls, checkpoint: str | os.PathLike, **kwargs: Any) -> tuple[PreTrainedModel, dict]:
        return super().coreFromPretrained(checkpoint, **{**cls.core_init_kwargs, **kwargs})

    @classmethod
    def standardiseConfig(cls, config: PretrainedConfig) -> BaseModelConfig:
        names = {**STANDARD_ATTRIBUTE_NAMES, **cls.standard_attribute_names}
        values: dict[str, Any] = {}
        not_found: list[str] = []
        readable = configsToRead(config)
        for field, candidates in names.items():
            found = (getattr(part, name, None) for part in readable for name in candidates)
            value = next((value for value in found if value is not None), None)
            if value is not None:
                values[field] = value
            else:
                if field in _OPTIONAL_DEFAULTS or not candidates:
                    values[field] = _OPTIONAL_DEFAULTS.get(field)
                else:
                    not_found.append(f"{field} (looked for {', '.join(candidates)})")
        if not_found:
            raise ValueError(
                f"Cannot read {type(config).__name__} as a base model config: no value for {'; '.join(not_found)}. "
                f"Name the attribute in {cls.__name__}.standard_attribute_names."
            )
        values["context_length"] = usableContextLength(config, values["context_length"])
        return BaseModelConfig(**values)

    def coreForwardKwargs(self) -> dict[str, Any]:
        return dict(self.core_forward_kwargs)
