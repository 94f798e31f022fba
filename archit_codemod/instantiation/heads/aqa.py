"""Extractive question answering with an answerability classifier ("AQA": answerable-or-not plus span)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from transformers.modeling_outputs import BaseModelOutputWithPoolingAndNoAttention

from archit_codemod.instantiation.abstracts.head import Head
from archit_codemod.instantiation.configs import BaseModelConfig, HeadConfig
from archit_codemod.instantiation.heads.classification import (
    SequenceClassificationHead,
    SequenceClassificationHeadConfig,
)

__all__ = ["ExtractiveAQAHead", "ExtractiveAQAHeadConfig"]


@dataclass
class ExtractiveAQAHeadConfig(HeadConfig):
    """``ua_loss_weight``: weight of the answerability loss next to the span loss."""

    ua_loss_weight: float = 1.0


class ExtractiveAQAHead(Head[ExtractiveAQAHeadConfig]):
    """``(span_logits B x L x 2, answerability_logits B x 2)``.

    The span part is :class:`~.qa.ExtractiveQAHead`'s linear layer (``[..., 0]`` start, ``[..., 1]`` end); the
    answerability part is a two-label :class:`~.classification.SequenceClassificationHead` (index 1: answerable).
    """

    def __init__(self, base_config: BaseModelConfig, head_config: ExtractiveAQAHeadConfig):
        super().__init__(base_config, head_config)
        self.qa_outputs = nn.Linear(base_config.hidden_size, 2)
        self.ua_head = SequenceClassificationHead(base_config, SequenceClassificationHeadConfig(num_labels=2))

    def forward(
        self,
        encoder_output: BaseModelOutputWithPoolingAndNoAttention,
        attention_mask: torch.Tensor,
        **kwargs: Any,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.qa_outputs(encoder_output.last_hidden_state), self.ua_head(encoder_output, attention_mask)

    @classmethod
    def configClass(cls) -> type[ExtractiveAQAHeadConfig]:
        return ExtractiveAQAHeadConfig

    @classmethod
    def hfEquivalentSuffix(cls) -> str:
        return "ForExtractiveAQA"  # transformers has no such class; the name marks the task

    @classmethod
    def assertConfigConstraints(
        cls, base_config: BaseModelConfig, head_config: ExtractiveAQAHeadConfig
    ) -> None:
        super().assertConfigConstraints(base_config, head_config)
        if head_config.ua_loss_weight < 0:
            raise ValueError(f"ua_loss_weight must be >= 0, got {head_config.ua_loss_weight}.")
