"""Token and sequence classification, and sequence regression."""

from __future__ import annotations

import torch
from torch import nn

from archit_codemod.instantiation.abstracts.model_with_head import ModelWithHead
from archit_codemod.instantiation.heads.classification import (
    SequenceClassificationHead,
    TokenClassificationHead,
)

__all__ = [
    "ForMultiLabelSequenceClassification",
    "ForSequenceClassification",
    "ForSequenceRegression",
    "ForSingleLabelSequenceClassification",
    "ForSingleLabelTokenClassification",
]


class ForSingleLabelTokenClassification(ModelWithHead):
    """One label per token; labels ``B x L`` of class indices, -100 where no label (special tokens, padding)."""

    auto_classes = ("AutoModelForTokenClassification",)

    @classmethod
    def headClass(cls) -> type[TokenClassificationHead]:
        return TokenClassificationHead

    @classmethod
    def buildLoss(cls) -> nn.Module:
        return nn.CrossEntropyLoss()  # ignore_index=-100 by default

    def computeLoss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.loss(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1).to(logits.device))


class ForSequenceClassification(ModelWithHead):
    """The tasks with one :class:`SequenceClassificationHead` output vector per sequence: the classes below differ in
    their loss. Not a task of its own: ``from_pretrained`` of a checkpoint saved by one of them returns that one, so
    ``AutoModelForSequenceClassification`` (and the text-classification pipeline) rebuild whichever it was."""

    auto_classes = ("AutoModelForSequenceClassification",)

    @classmethod
    def headClass(cls) -> type[SequenceClassificationHead]:
        return SequenceClassificationHead


class ForSingleLabelSequenceClassification(ForSequenceClassification):
    """One label per sequence; labels ``B`` of class indices."""

    problem_type = "single_label_classification"

    @classmethod
    def buildLoss(cls) -> nn.Module:
        return nn.CrossEntropyLoss()

    def computeLoss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.loss(logits, labels.reshape(-1).to(logits.device))


class ForMultiLabelSequenceClassification(ForSequenceClassification):
    """Any number of labels per sequence; labels ``B x num_labels`` of 0/1, binary cross-entropy per label."""

    problem_type = "multi_label_classification"

    @classmethod
    def buildLoss(cls) -> nn.Module:
        return nn.BCEWithLogitsLoss()

    def computeLoss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.loss(logits, labels.to(device=logits.device, dtype=logits.dtype))


class ForSequenceRegression(ForSequenceClassification):
    """Real-valued targets per sequence, mean squared error. With one output (``num_labels=1``), logits and labels
    are squeezed to ``B``, so labels may be given as ``B`` or ``B x 1``."""

    problem_type = "regression"

    @classmethod
    def buildLoss(cls) -> nn.Module:
        return nn.MSELoss()

    def computeLoss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        labels = labels.to(device=logits.device, dtype=logits.dtype)
        if logits.shape[-1] == 1:
            return self.loss(logits.reshape(-1), labels.reshape(-1))
        return self.loss(logits, labels)
