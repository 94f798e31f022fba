"""Extractive question answering with answerability."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from archit_codemod.instantiation.abstracts.model_with_head import ModelWithHead
from archit_codemod.instantiation.heads.aqa import ExtractiveAQAHead

__all__ = ["ForExtractiveAQA"]


def spanLoss(span_logits: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Mean of start and end cross-entropy; positions beyond the sequence are clamped to ``L`` and ignored."""
    length = span_logits.shape[1]
    positions = positions.long().clamp(0, length)
    start = nn.functional.cross_entropy(span_logits[..., 0], positions[:, 0], ignore_index=length)
    end = nn.functional.cross_entropy(span_logits[..., 1], positions[:, 1], ignore_index=length)
    return (start + end) / 2


class ForExtractiveAQA(ModelWithHead):
    """Labels ``(positions, answerable)``: ``B x 2`` start/end token positions and ``B`` answerability (1 when the
    context answers the question, 0 when not; positions of unanswerable examples are not read).

    Loss: the span loss of :class:`~.qa.ForExtractiveQA` over the answerable examples only (there is no span to
    find in the others), plus ``ua_loss_weight`` times the answerability cross-entropy over all examples. A batch
    without answerable examples has only the answerability term.
    """

    @classmethod
    def headClass(cls) -> type[ExtractiveAQAHead]:
        return ExtractiveAQAHead

    @classmethod
    def buildLoss(cls) -> nn.Module:
        return nn.CrossEntropyLoss()  # the answerability loss; the span loss needs a per-batch ignore index

    def computeLoss(
        self, logits: tuple[torch.Tensor, torch.Tensor], labels: Sequence[torch.Tensor]
    ) -> torch.Tensor:
        span_logits, answerability_logits = logits
        if isinstance(labels, torch.Tensor) or len(labels) != 2:
            raise ValueError("ForExtractiveAQA labels are a pair (positions B x 2, answerable B).")
        positions, answerable = (label.to(span_logits.device) for label in labels)
        answerable = answerable.reshape(-1).long()
        loss = self.config.head_config.ua_loss_weight * self.loss(answerability_logits, answerable)
        has_answer = answerable.bool()
        if has_answer.any():
            loss = loss + spanLoss(span_logits[has_answer], positions[has_answer])
        return loss
