"""Reuse the head of a transformers model-with-head checkpoint when it computes what our head computes.

:meth:`ModelWithHead.from_pretrained <archit_codemod.instantiation.abstracts.ModelWithHead.from_pretrained>` loads
only the base model from a checkpoint such as ``RobertaForMaskedLM`` and hands the weights it did not use to the
mapping the head class declares (``Head.transformers_head_mapping``, a
:data:`~archit_codemod.instantiation.abstracts.HeadWeightMapping`). The functions here are those mappings; each head
class listed below names its own (``transformers_head_mapping = staticmethod(maskedLMWeights)``), and a subclass of it maps
nothing unless it names one too. Each returns a complete state dict for our head when the transformers head has the
same layers, shapes and settings, and otherwise ``None``, so the head stays fresh: after logging why when the
checkpoint has a head of that kind that does not fit, silently when it has none (``ModelWithHead.from_pretrained``
names the dropped weights either way). This module knows transformers' head layouts and nothing of our head classes.

Mapped (outputs equal the transformers model's exactly):

- :class:`TokenClassificationHead` <- ``*ForTokenClassification`` with a single linear ``classifier`` or ``score``
  (BERT, RoBERTa, XLM-R, DistilBERT, ALBERT, ELECTRA, DeBERTa, GPT-2, Llama, Qwen2, Mistral, ...). A bias-free
  ``score`` gets a zero bias.
- :class:`ExtractiveQAHead` <- ``*ForQuestionAnswering``'s ``qa_outputs``.
- :class:`MaskedLMHead` <- RoBERTa-style ``lm_head`` (RoBERTa, XLM-R, CamemBERT), BERT's ``cls.predictions``,
  DistilBERT's ``vocab_*`` layers, when their activation is GELU and their layer-norm epsilon equals
  ``MaskedLMHeadConfig.layer_norm_eps``.
- :class:`CausalLMHead` <- a bias-free ``lm_head`` (Llama, Qwen2, Mistral, GPT-2, ...).

Tied decoders: when the checkpoint ties its decoder to the input embeddings (its config's ``tie_word_embeddings``;
the decoder weight is then not stored apart), the mapping needs a head config with ``tie_weights=True`` and leaves
the decoder weight out. ``ModelWithHead.from_pretrained`` accepts that gap because our tied decoder *is* the base
model's embedding matrix, loaded from the same checkpoint. An untied checkpoint needs ``tie_weights=False``.

- :class:`SequenceClassificationHead` with ``pooling="first"`` <- RoBERTa's classification head (RoBERTa, XLM-R,
  CamemBERT, Data2VecText, ...: first token, dense, tanh, out_proj).

Not mapped: the other ``*ForSequenceClassification`` heads (BERT's adds one linear layer to its pooler, ELECTRA's
uses GELU, decoders score the last token: none is our dense-tanh-dense head).
"""

from __future__ import annotations

import logging

import torch
from transformers import PretrainedConfig

from archit_codemod.instantiation.abstracts.head import StateDict
from archit_codemod.instantiation.configs import BaseModelConfig, HeadConfig

__all__ = [
    "causalLMWeights",
    "extractiveQAWeights",
    "maskedLMWeights",
    "sequenceClassificationWeights",
    "tokenClassificationWeights",
]

logger = logging.getLogger(__name__)


def _group(weights: StateDict, prefix: str) -> StateDict:
    """The weights under ``prefix.`` with that prefix removed."""
    return {key[len(prefix) + 1 :]: value for key, value in weights.items() if key.startswith(prefix + ".")}


def _doesNotFit(head_name: str, reason: str) -> None:
    logger.warning(
        f"The checkpoint's own head does not fit a {head_name}: {reason}. The head is freshly initialised."
    )
    return None


def _singleLinear(
    weights: StateDict, names: tuple[str, ...], out_features: int, in_features: int, head_name: str
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The weight and bias (zeros when absent) of the one linear layer among ``names`` found in ``weights``."""
    found = [name for name in names if f"{name}.weight" in weights]
    if not found:
        return None  # no head of this kind (e.g. only a pooler was dropped): nothing to say beyond the dropped keys
    if len(found) > 1:
        return _doesNotFit(head_name, f"expected one linear layer named {' or '.join(names)}, found {found}")
    layer = _group(weights, found[0])
    if set(layer) - {"weight", "bias"}:
        return _doesNotFit(head_name, f"{found[0]} is not a single linear layer (has {sorted(layer)})")
    weight = layer["weight"]
    if tuple(weight.shape) != (out_features, in_features):
        return _doesNotFit(
            head_name,
            f"{found[0]} maps {weight.shape[1]} -> {weight.shape[0]}, ours {in_features} -> {out_features}",
        )
    bias = layer.get("bias", torch.zeros(out_features, dtype=weight.dtype))
    return weight, bias


def tokenClassificationWeights(
    weights: StateDict,
    transformers_config: PretrainedConfig,
    base_config: BaseModelConfig,
    head_config: HeadConfig,
) -> StateDict | None:
    """``*ForTokenClassification``'s linear ``classifier`` (or ``score``) -> ``TokenClassificationHead``."""
    extra = sorted(key for key in weights if not key.startswith(("classifier.", "score.")))
    if any(
        key.startswith(("head.", "dropout.")) for key in extra
    ):  # ModernBERT: dense + norm before the classifier
        return _doesNotFit("TokenClassificationHead", f"the checkpoint's head has more layers ({extra})")
    linear = _singleLinear(
        weights,
        ("classifier", "score"),
        head_config.num_labels,
        base_config.hidden_size,
        "TokenClassificationHead",
    )
    return None if linear is None else {"classifier.weight": linear[0], "classifier.bias": linear[1]}


def extractiveQAWeights(
    weights: StateDict,
    transformers_config: PretrainedConfig,
    base_config: BaseModelConfig,
    head_config: HeadConfig,
) -> StateDict | None:
    """``*ForQuestionAnswering``'s ``qa_outputs`` -> ``ExtractiveQAHead``."""
    linear = _singleLinear(weights, ("qa_outputs",), 2, base_config.hidden_size, "ExtractiveQAHead")
    return None if linear is None else {"qa_outputs.weight": linear[0], "qa_outputs.bias": linear[1]}


# Architectures whose *ForSequenceClassification head is RobertaClassificationHead (first token, dense, tanh, out_proj).
_FIRST_TOKEN_TANH_CLASSIFIERS = frozenset(
    {"roberta", "xlm-roberta", "xlm-roberta-xl", "camembert", "data2vec-text", "roberta-prelayernorm", "xmod"}
)


def sequenceClassificationWeights(
    weights: StateDict,
    transformers_config: PretrainedConfig,
    base_config: BaseModelConfig,
    head_config: HeadConfig,
) -> StateDict | None:
    """RoBERTa's ``classifier`` (``dense``, ``out_proj``) -> ``SequenceClassificationHead(pooling="first")``."""
    classifier = _group(weights, "classifier")
    if set(classifier) != {"dense.weight", "dense.bias", "out_proj.weight", "out_proj.bias"}:
        return None  # not RoBERTa's layout (or no classifier at all)
    if transformers_config.model_type not in _FIRST_TOKEN_TANH_CLASSIFIERS:
        return _doesNotFit(
            "SequenceClassificationHead", f"{transformers_config.model_type}'s classifier is not RoBERTa's"
        )
    if head_config.pooling != "first":
        return _doesNotFit(
            "SequenceClassificationHead",
            f"its classifier reads the first token, the head config pools {head_config.pooling!r}; use "
            f"SequenceClassificationHeadConfig(pooling='first')",
        )
    shape = tuple(classifier["out_proj.weight"].shape)
    if shape != (head_config.num_labels, base_config.hidden_size):
        return _doesNotFit(
            "SequenceClassificationHead",
            f"its out_proj has shape {shape}, ours needs {(head_config.num_labels, base_config.hidden_size)}",
        )
    return classifier


# Where each architecture family keeps its masked-LM head: our key -> their key, and how to read its settings.
_MASKED_LM_LAYOUTS: tuple[dict[str, str], ...] = (
    {  # RoBERTa, XLM-R, CamemBERT: lm_head = dense, gelu, layer_norm, decoder (+ bias)
        "dense.weight": "lm_head.dense.weight",
        "dense.bias": "lm_head.dense.bias",
        "layer_norm.weight": "lm_head.layer_norm.weight",
        "layer_norm.bias": "lm_head.layer_norm.bias",
        "decoder.weight": "lm_head.decoder.weight",
        "decoder.bias": "lm_head.decoder.bias",
    },
    {  # BERT: cls.predictions = transform (dense, activation, LayerNorm), decoder (+ bias)
        "dense.weight": "cls.predictions.transform.dense.weight",
        "dense.bias": "cls.predictions.transform.dense.bias",
        "layer_norm.weight": "cls.predictions.transform.LayerNorm.weight",
        "layer_norm.bias": "cls.predictions.transform.LayerNorm.bias",
        "decoder.weight": "cls.predictions.decoder.weight",
        "decoder.bias": "cls.predictions.decoder.bias",
    },
    {  # DistilBERT: vocab_transform, activation, vocab_layer_norm, vocab_projector
        "dense.weight": "vocab_transform.weight",
        "dense.bias": "vocab_transform.bias",
        "layer_norm.weight": "vocab_layer_norm.weight",
        "layer_norm.bias": "vocab_layer_norm.bias",
        "decoder.weight": "vocab_projector.weight",
        "decoder.bias": "vocab_projector.bias",
    },
)


def _maskedLMSettings(transformers_config: PretrainedConfig) -> tuple[str, float]:
    """(activation, layer-norm epsilon) of the transformers masked-LM head of this config."""
    if transformers_config.model_type == "distilbert":
        return transformers_config.activation, 1e-12  # DistilBERT's head norm has a fixed epsilon
    if transformers_config.model_type in {"roberta", "xlm-roberta", "camembert", "xlm-roberta-xl"}:
        return "gelu", transformers_config.layer_norm_eps  # RobertaLMHead always uses GELU
    return transformers_config.hidden_act, transformers_config.layer_norm_eps


def maskedLMWeights(
    weights: StateDict,
    transformers_config: PretrainedConfig,
    base_config: BaseModelConfig,
    head_config: HeadConfig,
) -> StateDict | None:
    """A masked-LM head of the layout dense -> GELU -> LayerNorm -> decoder -> ``MaskedLMHead``."""
    layout = next((layout for layout in _MASKED_LM_LAYOUTS if layout["dense.weight"] in weights), None)
    if layout is None:
        return None  # no masked-LM head among the dropped weights
    activation, epsilon = _maskedLMSettings(transformers_config)
    if activation != "gelu":
        return _doesNotFit("MaskedLMHead", f"its activation is {activation!r}, ours GELU")
    if epsilon != head_config.layer_norm_eps:
        return _doesNotFit(
            "MaskedLMHead",
            f"its layer norm epsilon is {epsilon}, the head config's {head_config.layer_norm_eps}; "
            f"use MaskedLMHeadConfig(layer_norm_eps={epsilon})",
        )
    tied = _checkpointTiesDecoder(transformers_config, layout["decoder.weight"], weights)
    if tied != head_config.tie_weights:
        return _doesNotFit("MaskedLMHead", _tieMismatch(tied, "MaskedLMHeadConfig"))
    layout = dict(layout)
    if tied:
        del layout["decoder.weight"]  # our tied decoder is the embedding matrix the base model loaded
    if layout["decoder.bias"] not in weights:
        # transformers 4.x stores the decoder's bias once, as the head's `bias` (the same parameter); 5.x ties the
        # two when the decoder is tied, and otherwise keeps both, the decoder's own being the one its forward adds.
        layout["decoder.bias"] = layout["decoder.bias"].replace("decoder.bias", "bias")
    missing = [theirs for theirs in layout.values() if theirs not in weights]
    if missing:
        return _doesNotFit("MaskedLMHead", f"the checkpoint lacks {missing}")
    mapped = {ours: weights[theirs] for ours, theirs in layout.items()}
    if not tied and tuple(mapped["decoder.weight"].shape) != (
        base_config.vocab_size,
        base_config.hidden_size,
    ):
        return _doesNotFit("MaskedLMHead", f"its decoder has shape {tuple(mapped['decoder.weight'].shape)}")
    return mapped


def causalLMWeights(
    weights: StateDict,
    transformers_config: PretrainedConfig,
    base_config: BaseModelConfig,
    head_config: HeadConfig,
) -> StateDict | None:
    """``*ForCausalLM``'s bias-free ``lm_head`` -> ``CausalLMHead``, tied or untied on both sides.

    A tied checkpoint normally stores no ``lm_head`` and leaves nothing to map; one that stores it anyway (an old
    ``pytorch_model.bin``) maps to nothing either, since our tied projection is the embedding matrix."""
    lm_head = _group(weights, "lm_head")
    if not lm_head:
        return None  # no language-modelling head among the dropped weights
    if set(lm_head) != {"weight"}:
        return _doesNotFit("CausalLMHead", f"expected a bias-free lm_head, found {sorted(weights)}")
    tied = _checkpointTiesDecoder(transformers_config, "lm_head.weight", weights)
    if tied != head_config.tie_weights:
        return _doesNotFit("CausalLMHead", _tieMismatch(tied, "CausalLMHeadConfig"))
    if tied:
        return {}
    weight = lm_head["weight"]
    if tuple(weight.shape) != (base_config.vocab_size, base_config.hidden_size):
        return _doesNotFit("CausalLMHead", f"its lm_head has shape {tuple(weight.shape)}")
    return {"lm_head.weight": weight}


def _checkpointTiesDecoder(
    transformers_config: PretrainedConfig, decoder_key: str, weights: StateDict
) -> bool:
    """Whether the checkpoint's vocabulary projection is its input embedding matrix. transformers ties the two when
    the config's ``tie_word_embeddings`` says so (its default is True), and a checkpoint that does not store the
    projection apart can only be tied."""
    return decoder_key not in weights or bool(getattr(transformers_config, "tie_word_embeddings", True))


def _tieMismatch(checkpoint_ties: bool, config_name: str) -> str:
    if checkpoint_ties:
        return (
            f"the checkpoint's decoder is tied to the input embeddings but the head config does not tie it; use "
            f"{config_name}(tie_weights=True)"
        )
    return (
        f"the checkpoint's decoder is not tied to the input embeddings but the head config ties it; use "
        f"{config_name}(tie_weights=False)"
    )
