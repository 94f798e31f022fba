"""Multiple choice with exactly one right answer among the choices."""

from __future__ import annotations

import torch
from torch import nn

from archit_codemod.instantiation.configs import BaseModelConfig
from archit_codemod.instantiation.extensions import ForNestedBatches
from archit_codemod.instantiation.heads.classification import SequenceClassificationHeadConfig
from archit_codemod.instantiation.heads.nested import SequenceClassificationHeadForNestedBatches

__all__ = ["ForSingleAnswerMultipleChoice"]


class ForSingleAnswerMultipleChoice(ForNestedBatches):
    """Inputs ``B x C x L``: each example's C (context, choice) pairs. The head gives one logit per choice
    (``num_labels=1``); labels ``B``: the index of the right choice; cross-entropy over the C logits."""

    auto_classes = ("AutoModelForMultipleChoice",)

    @classmethod
    def headClass(cls) -> type[SequenceClassificationHeadForNestedBatches]:
        return SequenceClassificationHeadForNestedBatches

    @classmethod
    def buildHead(
        cls, base_model_config: BaseModelConfig, head_config: SequenceClassificationHeadConfig
    ) -> SequenceClassificationHeadForNestedBatches:
        if head_config.num_labels != 1:
            raise ValueError(
                f"{cls.__name__} scores each choice with one logit, so it needs num_labels=1, got "
                f"num_labels={head_config.num_labels}. Fix: SequenceClassificationHeadConfig(num_labels=1)."
            )
        return super().buildHead(base_model_config, head_config)

    @classmethod
    def buildLoss(cls) -> nn.Module:
        return nn.CrossEntropyLoss()

    def computeLoss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.loss(logits.squeeze(-1), labels.reshape(-1).to(logits.device))
