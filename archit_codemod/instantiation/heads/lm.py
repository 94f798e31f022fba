"""Language-modelling heads: a projection to the vocabulary, optionally tied to the input embeddings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from transformers.activations import ACT2FN
from transformers.modeling_outputs import BaseModelOutputWithPoolingAndNoAttention

from archit_codemod.instantiation.abstracts.head import Head
from archit_codemod.instantiation.configs import BaseModelConfig, HeadConfig
from archit_codemod.instantiation.heads.reuse import causalLMWeights, maskedLMWeights

__all__ = ["CausalLMHead", "CausalLMHeadConfig", "MaskedLMHead", "MaskedLMHeadConfig"]


def vocabularyProjection(hidden_size: int, vocab_size: int, bias: bool, tied: bool) -> nn.Linear:
    """A linear layer from ``hidden_size`` to vocabulary logits. When ``tied``, its weight will be the base model's
    input embedding matrix (the model's ``post_init`` ties it), so the layer gets no weight of its own: the weight is
    built on the meta device, and only the bias, if any, is allocated. A vocabulary-sized random matrix made only to
    be thrown away costs a third of a second at GPT-2's size."""
    if not tied:
        return nn.Linear(hidden_size, vocab_size, bias=bias)
    with torch.device("meta"):
        projection = nn.Linear(hidden_size, vocab_size, bias=False)
    if bias:
        projection.bias = nn.Parameter(torch.zeros(vocab_size))
    return projection


def requireVocabulary(head_class: type, base_config: BaseModelConfig) -> None:
    if base_config.vocab_size is None:
        raise ValueError(
            f"{head_class.__name__} predicts tokens, but the base model has no vocabulary (vocab_size is None, as "
            f"for CANINE). Use a base model with a token vocabulary."
        )


@dataclass
class MaskedLMHeadConfig(HeadConfig):
    """``tie_weights``: share the decoder's weight with the base model's input embeddings (kept through
    save/load). ``layer_norm_eps`` of the head's layer norm (RoBERTa's is 1e-5, BERT's 1e-12)."""

    tie_weights: bool = True
    layer_norm_eps: float = 1e-5


class MaskedLMHead(Head[MaskedLMHeadConfig]):
    """Dense, GELU, layer norm, then the decoder to vocabulary logits: ``B x L x V``."""

    transformers_head_mapping = staticmethod(maskedLMWeights)

    def __init__(self, base_config: BaseModelConfig, head_config: MaskedLMHeadConfig):
        super().__init__(base_config, head_config)
        self.dense = nn.Linear(base_config.hidden_size, base_config.hidden_size)
        self.activation = ACT2FN["gelu"]
        self.layer_norm = nn.LayerNorm(base_config.hidden_size, eps=head_config.layer_norm_eps)
        self.decoder = vocabularyProjection(
            base_config.hidden_size, base_config.vocab_size, bias=True, tied=head_config.tie_weights
        )

    def forward(
        self,
        encoder_output: BaseModelOutputWithPoolingAndNoAttention,
        attention_mask: torch.Tensor,
        **kwargs: Any,
    ) -> torch.Tensor:
        x = self.layer_norm(self.activation(self.dense(encoder_output.last_hidden_state)))
        return self.decoder(x)

    @classmethod
    def configClass(cls) -> type[MaskedLMHeadConfig]:
        return MaskedLMHeadConfig

    @classmethod
    def hfEquivalentSuffix(cls) -> str:
        return "ForMaskedLM"

    @classmethod
    def assertConfigConstraints(cls, base_config: BaseModelConfig, head_config: MaskedLMHeadConfig) -> None:
        super().assertConfigConstraints(base_config, head_config)
        requireVocabulary(cls, base_config)


@dataclass
class CausalLMHeadConfig(HeadConfig):
    """``tie_weights``: share the projection's weight with the base model's input embeddings."""

    tie_weights: bool = True


class CausalLMHead(Head[CausalLMHeadConfig]):
    """One bias-free linear layer to vocabulary logits: ``B x L x V``."""

    transformers_head_mapping = staticmethod(causalLMWeights)

    def __init__(self, base_config: BaseModelConfig, head_config: CausalLMHeadConfig):
        super().__init__(base_config, head_config)
        self.lm_head = vocabularyProjection(
            base_config.hidden_size, base_config.vocab_size, bias=False, tied=head_config.tie_weights
        )

    def forward(
        self,
        encoder_output: BaseModelOutputWithPoolingAndNoAttention,
        attention_mask: torch.Tensor,
        **kwargs: Any,
    ) -> torch.Tensor:
        return self.lm_head(encoder_output.last_hidden_state)

    @classmethod
    def configClass(cls) -> type[CausalLMHeadConfig]:
        return CausalLMHeadConfig

    @classmethod
    def hfEquivalentSuffix(cls) -> str:
        return "ForCausalLM"

    @classmethod
    def assertConfigConstraints(cls, base_config: BaseModelConfig, head_config: CausalLMHeadConfig) -> None:
        super().assertConfigConstraints(base_config, head_config)
        requireVocabulary(cls, base_config)
