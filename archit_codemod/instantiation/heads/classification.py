"""Heads that classify tokens or whole sequences."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from transformers.modeling_outputs import BaseModelOutputWithPoolingAndNoAttention

from archit_codemod.instantiation.abstracts.head import Head
from archit_codemod.instantiation.configs import BaseModelConfig, HeadConfig
from archit_codemod.instantiation.heads.reuse import sequenceClassificationWeights, tokenClassificationWeights

__all__ = [
    "SEQUENCE_POOLINGS",
    "HeadConfigWithLabels",
    "SequenceClassificationHead",
    "SequenceClassificationHeadConfig",
    "TokenClassificationHead",
    "TokenClassificationHeadConfig",
    "meanPool",
]


@dataclass
class HeadConfigWithLabels(HeadConfig):
    """A head config with a number of output labels (keyword-only; 0 means "not set" and is refused by heads that
    need labels)."""

    num_labels: int = field(default=0, kw_only=True)


def requirePositiveLabels(head_class: type, head_config: HeadConfigWithLabels) -> None:
    """Refuse ``num_labels < 1`` with the fix in the message (the original raised a bare AssertionError)."""
    if head_config.num_labels < 1:
        raise ValueError(
            f"{head_class.__name__} needs num_labels >= 1 (one output per label), got num_labels="
            f"{head_config.num_labels}. Fix: {type(head_config).__name__}(num_labels=<number of labels>)."
        )


@dataclass
class TokenClassificationHeadConfig(HeadConfigWithLabels):
    pass


class TokenClassificationHead(Head[TokenClassificationHeadConfig]):
    """Dropout, then a linear layer from each token's embedding to ``num_labels`` logits: ``B x L x num_labels``."""

    transformers_head_mapping = staticmethod(tokenClassificationWeights)

    def __init__(self, base_config: BaseModelConfig, head_config: TokenClassificationHeadConfig):
        super().__init__(base_config, head_config)
        self.dropout = nn.Dropout(base_config.hidden_dropout_prob)
        self.classifier = nn.Linear(base_config.hidden_size, head_config.num_labels)

    def forward(
        self,
        encoder_output: BaseModelOutputWithPoolingAndNoAttention,
        attention_mask: torch.Tensor,
        **kwargs: Any,
    ) -> torch.Tensor:
        return self.classifier(self.dropout(encoder_output.last_hidden_state))

    @classmethod
    def configClass(cls) -> type[TokenClassificationHeadConfig]:
        return TokenClassificationHeadConfig

    @classmethod
    def hfEquivalentSuffix(cls) -> str:
        return "ForTokenClassification"

    @classmethod
    def assertConfigConstraints(
        cls, base_config: BaseModelConfig, head_config: TokenClassificationHeadConfig
    ) -> None:
        super().assertConfigConstraints(base_config, head_config)
        requirePositiveLabels(cls, head_config)


def meanPool(last_hidden_state: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean of the embeddings of the positions where ``attention_mask`` is 1: ``B x L x H -> B x H``."""
    mask = attention_mask.unsqueeze(-1).to(last_hidden_state.dtype)
    return (last_hidden_state * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


# How SequenceClassificationHead turns a sequence into one vector.
SEQUENCE_POOLINGS = ("auto", "pooler", "first", "mean")


@dataclass
class SequenceClassificationHeadConfig(HeadConfigWithLabels):
    """``pooling``: ``"auto"`` (the base model's pooler output when it has one, else ``"mean"``), ``"pooler"``,
    ``"first"`` (the first token's embedding, as RoBERTa's classification head) or ``"mean"`` (the mean over the
    attention mask)."""

    pooling: str = "auto"


class SequenceClassificationHead(Head[SequenceClassificationHeadConfig]):
    """One vector per sequence (see ``SequenceClassificationHeadConfig.pooling``), then dropout, dense, tanh,
    dropout, dense to ``num_labels``: ``B x num_labels``."""

    transformers_head_mapping = staticmethod(sequenceClassificationWeights)

    def __init__(self, base_config: BaseModelConfig, head_config: SequenceClassificationHeadConfig):
        super().__init__(base_config, head_config)
        self.dropout = nn.Dropout(base_config.hidden_dropout_prob)
        self.dense = nn.Linear(base_config.hidden_size, base_config.hidden_size)
        self.out_proj = nn.Linear(base_config.hidden_size, head_config.num_labels)

    def pool(
        self, encoder_output: BaseModelOutputWithPoolingAndNoAttention, attention_mask: torch.Tensor
    ) -> torch.Tensor:
        pooling = self.head_config.pooling
        if pooling == "first":
            return encoder_output.last_hidden_state[:, 0, :]
        if pooling == "pooler" or (pooling == "auto" and encoder_output.pooler_output is not None):
            if encoder_output.pooler_output is None:  # an explicit None test: a tensor has no truth value
                raise ValueError(
                    "SequenceClassificationHeadConfig(pooling='pooler') needs a base model with a pooler, and this "
                    "one returns no pooler_output. Fix: pooling='first', 'mean' or 'auto'."
                )
            return encoder_output.pooler_output
        return meanPool(encoder_output.last_hidden_state, attention_mask)

    def forward(
        self,
        encoder_output: BaseModelOutputWithPoolingAndNoAttention,
        attention_mask: torch.Tensor,
        **kwargs: Any,
    ) -> torch.Tensor:
        x = self.dropout(self.pool(encoder_output, attention_mask))
        x = self.dropout(torch.tanh(self.dense(x)))
        return self.out_proj(x)

    @classmethod
    def configClass(cls) -> type[SequenceClassificationHeadConfig]:
        return SequenceClassificationHeadConfig

    @classmethod
    def hfEquivalentSuffix(cls) -> str:
        return "ForSequenceClassification"

    @classmethod
    def assertConfigConstraints(
        cls, base_config: BaseModelConfig, head_config: SequenceClassificationHeadConfig
    ) -> None:
        super().assertConfigConstraints(base_config, head_config)
        requirePositiveLabels(cls, head_config)
        if head_config.pooling not in SEQUENCE_POOLINGS:
            raise ValueError(
                f"SequenceClassificationHeadConfig.pooling must be one of {SEQUENCE_POOLINGS}, got "
                f"{head_config.pooling!r}. Fix: SequenceClassificationHeadConfig(num_labels=..., pooling='auto')."
            )
