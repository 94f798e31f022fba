"""Configurations of base models, heads, and their combination.

- :class:`BaseModelConfig` is a standard view (``hidden_size``, ``vocab_size``, ...) of any transformers config,
  so heads never need to know which architecture they sit on.
- :class:`HeadConfig` is the base of head configurations: plain dataclasses, saved as dicts.
- :class:`CombinedConfig` is the ``PretrainedConfig`` of a ``ModelWithHead``. It holds the base model's
  transformers config and the head config, and names (by import path) the base-model wrapper, the head config
  class and the model-with-head class that were used. With that, a ``ModelWithHead`` can be rebuilt from its
  ``config.json`` alone, and transformers' own ``save_pretrained``/``from_pretrained`` work unchanged.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

from transformers import GenerationConfig, PretrainedConfig

from archit_codemod.util import dataclass_from_dict, dataclass_to_dict, import_from_path, import_path

__all__ = [
    "BaseModelConfig",
    "CombinedConfig",
    "HeadConfig",
    "attentionImplementationOf",
    "generationParameterNames",
]


@dataclass
class BaseModelConfig:
    """What a head may know about the base model under it, whatever the architecture calls these values.

    ``vocab_size`` is ``None`` for models without a token vocabulary (CANINE reads characters).
    ``num_attention_heads`` is ``None`` for models without attention (Mamba, FNet).
    ``context_length`` is ``None`` when the architecture has no fixed maximum length.
    """

    hidden_size: int
    hidden_dropout_prob: float
    vocab_size: int | None
    num_hidden_layers: int
    num_attention_heads: int | None
    context_length: int | None


@dataclass
class HeadConfig:
    """Base class of all head configurations. Subclasses are dataclasses whose fields are JSON-serialisable
    values, nested dataclasses or enums (see :func:`archit_codemod.util.dataclass_to_dict`)."""

    def to_dict(self) -> dict[str, Any]:
        return dataclass_to_dict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> HeadConfig:
        return dataclass_from_dict(cls, values)


# Attributes that transformers probes with hasattr() to discover a composite config's structure. Answering them
# from the base model's config would make the combined config look like, e.g., an encoder-decoder config.
_NOT_DELEGATED = frozenset(
    {
        "base_model_config",
        "head_config",
        "base_model_class",
        "head_config_class",
        "model_with_head_class",
        "decoder",
        "encoder",
        "generator",
        "text_config",
        "text_encoder",
        "vision_config",
        "audio_config",
        "quantization_config",
        "sub_configs",
    }
)


# Token ids that GenerationConfig has, but that are first of all the base model's own values (a data collator or a
# head reads config.pad_token_id): they fall back like any other attribute.
_TOKEN_IDS_OF_THE_BASE_MODEL = frozenset(
    {"pad_token_id", "bos_token_id", "eos_token_id", "decoder_start_token_id"}
)


@functools.cache
def generationParameterNames() -> frozenset[str]:
    """Names of generation parameters: the public fields of transformers' ``GenerationConfig`` (the superset of
    what ``save_pretrained`` refuses to find in a model config: on 5.x any such value that is not None, on 4.57
    those differing from the defaults), except the special token ids."""
    return frozenset(GenerationConfig().to_dict()) - _TOKEN_IDS_OF_THE_BASE_MODEL


class CombinedConfig(PretrainedConfig):
    """The config of a ``ModelWithHead``: a base model's transformers config plus a head config.

    Args:
        base_model_config: the transformers config of the base model (a ``PretrainedConfig``, or its dict as
            stored in ``config.json``).
        head_config: the head's :class:`HeadConfig` (or its dict, rebuilt with ``head_config_class``).
        base_model_class: import path of the ``BaseModel`` wrapper, e.g.
            ``"archit_codemod.instantiation.basemodels.roberta.RobertaBaseModel"``.
        head_config_class: import path of the head config class (needed to rebuild ``head_config`` from a dict).
        model_with_head_class: import path of the task class (``ForMaskedLM``, ...) the config was made for; used
            to refuse loading a checkpoint of one task into another.

    Attribute look-ups that find nothing on this config fall back to ``base_model_config`` (so
    ``config.hidden_size`` works), except generation parameters (:func:`generationParameterNames`), which
    transformers does not accept in a model config. Attributes this config has itself (every ``PretrainedConfig`` attribute, such
    as ``pad_token_id`` on transformers 4.x) win; read ``config.base_model_config.X`` to be sure to get the base
    model's value. ``tie_word_embeddings`` is derived from the head config's ``tie_weights`` (False for heads
    without one), because transformers decides from it whether to tie the head's decoder to the embeddings.
    """

    model_type = "archit_codemod"
    # Trainer's prediction loop gives compute_metrics the logits alone, as for transformers' own models (a causal
    # LM called with use_cache=True also returns its cache, under either name).
    keys_to_ignore_at_inference = ["base_model_output", "cache", "past_key_values"]

    def __init__(
        self,
        base_model_config: PretrainedConfig | dict[str, Any] | None = None,
        head_config: HeadConfig | dict[str, Any] | None = None,
        base_model_class: str | None = None,
        head_config_class: str | None = None,
        model_with_head_class: str | None = None,
        **kwargs: Any,
    ):
        kwargs.pop(
            "tie_word_embeddings", None
        )  # derived from the head config below, never taken from outside
        super().__init__(**kwargs)
        self.base_model_class = base_model_class
        self.model_with_head_class = model_with_head_class
        if isinstance(head_config, HeadConfig):
            head_config_class = import_path(type(head_config))
        self.head_config_class = head_config_class
        # `attn_implementation` (a PretrainedConfig constructor argument, which from_pretrained/from_dict pass on)
        # chooses the attention of the whole model, so the base model's config gets it too.
        self.base_model_config = _baseConfigFromValue(
            base_model_config, base_model_class, kwargs.get("attn_implementation")
        )
        self.head_config = _headConfigFromValue(head_config, head_config_class)
        self.tie_word_embeddings = bool(getattr(self.head_config, "tie_weights", False))
        self._matchLabelsToHead()

    def copyWith(self, **values: Any) -> CombinedConfig:
        """A copy of this config with the attributes ``values`` set; this config is left as it is. The base model's
        config and the head config are the same objects in the copy (a base model built with one keeps it)."""
        copied = copy.copy(self)
        for name, value in values.items():
            setattr(copied, name, value)
        return copied

    def withHeadConfig(self, head_config: HeadConfig) -> CombinedConfig:
        """A copy of this config that describes a new head (see ``ModelWithHead.replaceHead``): its config and
        class, weight tying, and labels; this config is left as it is."""
        copied = self.copyWith(
            head_config=head_config,
            head_config_class=import_path(type(head_config)),
            tie_word_embeddings=bool(getattr(head_config, "tie_weights", False)),
        )
        copied._matchLabelsToHead()
        return copied

    def _matchLabelsToHead(self) -> None:
        """Give ``id2label``/``label2id`` one entry per output of a head with labels (pipelines name their
        predictions with them): the ones given or saved when they fit, else the base model config's (a transformers
        checkpoint fine-tuned with that many labels), else ``LABEL_0``, ``LABEL_1``, ..."""
        num_labels = getattr(self.head_config, "num_labels", 0)
        if not num_labels or len(self.id2label) == num_labels:
            return
        base_labels = getattr(self.base_model_config, "id2label", None) or {}
        if len(base_labels) == num_labels:
            self.id2label = dict(base_labels)
            self.label2id = {label: index for index, label in base_labels.items()}
        else:
            self.num_labels = num_labels

    def __getattr__(self, name: str) -> Any:
        # Only called when normal look-up failed. Never delegate dunders (copy/pickle probe __setstate__ etc. on
        # half-built instances, where base_model_config does not exist yet), private names (transformers' own
        # bookkeeping), or the structural names above.
        if name.startswith("_") or name in _NOT_DELEGATED:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        if name in generationParameterNames():
            # transformers refuses to save a model config that holds generation parameters (5.x), so the base
            # config's (BART's forced_eos_token_id) must not look like ours; they belong in a generation config.
            raise AttributeError(
                f"{type(self).__name__!r} object has no attribute {name!r}: generation parameters are not read "
                f"from the base model's config; use config.base_model_config.{name}."
            )
        base = self.__dict__.get("base_model_config")
        if base is None:
            raise AttributeError(
                f"{type(self).__name__!r} object has no attribute {name!r} (and has no base_model_config to ask)"
            )
        return getattr(base, name)

    def validate(self) -> None:
        """transformers' check of a config before it is saved (transformers 5). The combined config has no
        architecture of its own: the base model's config is checked, by its own class's rules (which may allow more
        layer types than the generic ones, as NemotronH's and DeepSeek-V4's do). The generic rules would judge the
        base model's values, which attribute look-ups fall back to, and refuse valid configs."""
        base = self.__dict__.get("base_model_config")
        if base is not None and hasattr(base, "validate"):
            base.validate()

    def to_dict(self) -> dict[str, Any]:
        output = super().to_dict()  # already turns the nested base model config into a dict
        if self.head_config is not None:
            output["head_config"] = dataclass_to_dict(self.head_config)
        return output

    def baseModelClass(self) -> type:
        """The ``BaseModel`` wrapper class this config names."""
        if self.base_model_class is None:
            raise ValueError("This CombinedConfig names no base model class; set `base_model_class`.")
        return import_from_path(self.base_model_class)

    def headConfigClass(self) -> type[HeadConfig] | None:
        return None if self.head_config_class is None else import_from_path(self.head_config_class)

    def modelWithHeadClass(self) -> type | None:
        return None if self.model_with_head_class is None else import_from_path(self.model_with_head_class)


def attentionImplementationOf(config: PretrainedConfig) -> str | dict | None:
    """The attention implementation a transformers config selects (``"sdpa"``, ``"eager"``, ...); ``None`` until a
    model has chosen one. transformers keeps it in ``config._attn_implementation``, the attribute its modeling
    code reads; it is read here, never set (models set it through their constructor or ``set_attn_implementation``).
    """
    return getattr(config, "_attn_implementation", None)


def _baseConfigFromValue(
    value: PretrainedConfig | dict[str, Any] | None,
    base_model_class: str | None,
    attn_implementation: str | None = None,
):
    if value is None:
        return value
    if isinstance(value, PretrainedConfig):
        if attn_implementation is None or attentionImplementationOf(value) == attn_implementation:
            return value  # the very object: a base model built with it keeps it as its config
        # Set through the constructor, the public way: a copy of the config with that attention implementation.
        value = value.to_dict()
    if not isinstance(value, dict):
        raise TypeError(
            f"base_model_config must be a PretrainedConfig or a dict, not {type(value).__name__}."
        )
    values = dict(value)
    model_type = values.pop("model_type", None)
    values.pop("transformers_version", None)
    # A keyword argument, not a dict entry: transformers 4.57's from_dict overwrites that entry with its kwarg.
    loading_options = {} if attn_implementation is None else {"attn_implementation": attn_implementation}
    config_class = None
    if base_model_class is not None:
        candidate = import_from_path(base_model_class).configClass()
        if getattr(candidate, "model_type", None) == model_type:
            config_class = candidate
    if config_class is None:
        if not model_type:
            raise ValueError(
                "Cannot rebuild the base model config: its dict has no `model_type` and the base model class does "
                "not name a config class. Save the config with transformers' to_dict(), which records model_type."
            )
        from transformers import AutoConfig

        return AutoConfig.for_model(model_type, **values, **loading_options)
    return config_class.from_dict(values, **loading_options)


def _headConfigFromValue(value: HeadConfig | dict[str, Any] | None, head_config_class: str | None):
    if value is None or isinstance(value, HeadConfig):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        raise TypeError(f"Head configs must subclass HeadConfig; {type(value).__name__} does not.")
    if head_config_class is None:
        raise ValueError(
            "head_config was given as a dict, but head_config_class is missing, so it cannot be rebuilt. "
            "Give a HeadConfig instance instead, or set head_config_class to its import path."
        )
    return dataclass_from_dict(import_from_path(head_config_class), value)
