"""Extractive question answering."""

from __future__ import annotations

import torch
from torch import nn

from archit_codemod.instantiation.abstracts.model_with_head import ModelWithHead
from archit_codemod.instantiation.heads.qa import ExtractiveQAHead
from archit_codemod.instantiation.outputs import BaseModelOutputWithCache, ExtractiveQAOutputWithHead

__all__ = ["ForExtractiveQA"]


class ForExtractiveQA(ModelWithHead):
    """Labels ``B x 2``: the start and end token position of each answer.

    The loss is the mean of the start and end cross-entropies. Positions outside the sequence are clamped to the
    sequence length ``L``, which is the ignore index: such examples (answer cut off by truncation) add nothing.
    """

    auto_classes = ("AutoModelForQuestionAnswering",)

    @classmethod
    def headClass(cls) -> type[ExtractiveQAHead]:
        return ExtractiveQAHead

    @classmethod
    def buildLoss(cls) -> nn.Module:
        return nn.CrossEntropyLoss()

    def buildOutput(
        self, loss: torch.Tensor | None, logits: torch.Tensor, base_output: BaseModelOutputWithCache
    ) -> ExtractiveQAOutputWithHead:
        return ExtractiveQAOutputWithHead(
            loss=loss,
            logits=logits,
            base_model_output=base_output,
            start_logits=logits[..., 0],
            end_logits=logits[..., 1],
        )

    def computeLoss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        length = logits.shape[1]
        positions = labels.to(logits.device).long().clamp(0, length)
        start_logits, end_logits = logits[..., 0], logits[..., 1]
        # nn.CrossEntropyLoss fixes ignore_index at construction, but here it depends on the batch's length.
        start_loss = nn.functional.cross_entropy(start_logits, positions[:, 0], ignore_index=length)
        end_loss = nn.functional.cross_entropy(end_logits, positions[:, 1], ignore_index=length)
        return (start_loss + end_loss) / 2
