"""Sequence classification over nested batches (``B x C x L``), as in multiple choice."""

from __future__ import annotations

from typing import Any

import torch
from transformers.modeling_outputs import BaseModelOutputWithPoolingAndNoAttention

from archit_codemod.instantiation.extensions import flattenNestedBatches
from archit_codemod.instantiation.heads.classification import SequenceClassificationHead

__all__ = ["SequenceClassificationHeadForNestedBatches"]


class SequenceClassificationHeadForNestedBatches(SequenceClassificationHead):
    """:class:`SequenceClassificationHead` applied to each of the ``B x C`` sequences: ``B x C x num_labels``."""

    def forward(
        self,
        encoder_output: BaseModelOutputWithPoolingAndNoAttention,
        attention_mask: torch.Tensor,
        **kwargs: Any,
    ) -> torch.Tensor:
        B, C = encoder_output.last_hidden_state.shape[:2]
        flat_output, flat_mask = flattenNestedBatches(encoder_output, attention_mask)
        return super().forward(flat_output, flat_mask, **kwargs).unflatten(0, (B, C))

    @classmethod
    def hfEquivalentSuffix(cls) -> str:
        # The task of transformers' *ForMultipleChoice, whose head (dropout + one linear layer) differs from this.
        return "ForMultipleChoice"
