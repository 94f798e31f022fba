"""Extractive question answering: a start and an end logit per token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from transformers.modeling_outputs import BaseModelOutputWithPoolingAndNoAttention

from archit_codemod.instantiation.abstracts.head import Head
from archit_codemod.instantiation.configs import BaseModelConfig, HeadConfig
from archit_codemod.instantiation.heads.reuse import extractiveQAWeights

__all__ = ["ExtractiveQAHead", "ExtractiveQAHeadConfig"]


@dataclass
class ExtractiveQAHeadConfig(HeadConfig):
    pass


class ExtractiveQAHead(Head[ExtractiveQAHeadConfig]):
    """A linear layer to 2 logits per token: ``B x L x 2`` (``[..., 0]`` start, ``[..., 1]`` end)."""

    transformers_head_mapping = staticmethod(extractiveQAWeights)

    def __init__(self, base_config: BaseModelConfig, head_config: ExtractiveQAHeadConfig):
        super().__init__(base_config, head_config)
        self.qa_outputs = nn.Linear(base_config.hidden_size, 2)

    def forward(
        self,
        encoder_output: BaseModelOutputWithPoolingAndNoAttention,
        attention_mask: torch.Tensor,
        **kwargs: Any,
    ) -> torch.Tensor:
        return self.qa_outputs(encoder_output.last_hidden_state)

    @classmethod
    def configClass(cls) -> type[ExtractiveQAHeadConfig]:
        return ExtractiveQAHeadConfig

    @classmethod
    def hfEquivalentSuffix(cls) -> str:
        return "ForQuestionAnswering"
