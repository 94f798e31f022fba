"""Wrappers of specific architectures: each states only what differs from :class:`TransformersBaseModel`."""

from __future__ import annotations

from transformers import (
    BertModel,
    CanineModel,
    DebertaModel,
    DebertaV2Model,
    GPT2Model,
    ModernBertModel,
    RobertaModel,
)

from archit_codemod.instantiation.basemodels.generic import TransformersBaseModel

__all__ = [
    "BertBaseModel",
    "CanineBaseModel",
    "DebertaBaseModel",
    "DebertaV2BaseModel",
    "GPT2BaseModel",
    "ModernBertBaseModel",
    "RobertaBaseModel",
]


class RobertaBaseModel(TransformersBaseModel):
    """RoBERTa without its pooling layer (never pre-trained; RobertaFor* models do not use it either)."""

    core_class = RobertaModel
    core_init_kwargs = {"add_pooling_layer": False}


class BertBaseModel(TransformersBaseModel):
    """BERT with its (pre-trained) pooling layer, whose output sequence classification heads use."""

    core_class = BertModel


class GPT2BaseModel(TransformersBaseModel):
    """GPT-2; no key/value cache is built, since the wrapper runs whole sequences."""

    core_class = GPT2Model
    core_forward_kwargs = {"use_cache": False}


class DebertaBaseModel(TransformersBaseModel):
    core_class = DebertaModel


class DebertaV2BaseModel(TransformersBaseModel):
    core_class = DebertaV2Model


class ModernBertBaseModel(TransformersBaseModel):
    """ModernBERT has no single hidden dropout; heads use its classifier dropout, as ModernBertFor* do."""

    core_class = ModernBertModel
    standard_attribute_names = {"hidden_dropout_prob": ("classifier_dropout", "mlp_dropout")}


class CanineBaseModel(TransformersBaseModel):
    """CANINE reads Unicode code points, so it has no vocabulary (``vocab_size`` is ``None``)."""

    core_class = CanineModel
    standard_attribute_names = {"vocab_size": ()}
