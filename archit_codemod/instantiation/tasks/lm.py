"""Masked and causal language modelling, with the vocabulary projection tied to the input embeddings on request."""

from __future__ import annotations

import torch
from torch import nn

from archit_codemod.instantiation.abstracts import ModelWithHead
from archit_codemod.instantiation.heads.lm import CausalLMHead, MaskedLMHead

__all__ = ["ForCausalLM", "ForMaskedLM"]


class ForMaskedLM(ModelWithHead):
    """Labels ``B x L`` of token ids at masked positions, -100 elsewhere.

    With ``MaskedLMHeadConfig(tie_weights=True)`` the head's decoder weight is the input embedding matrix: the
    config's ``tie_word_embeddings`` follows ``tie_weights``, and transformers ties (and unties on save/load) the
    pair that ``get_output_embeddings``/``get_input_embeddings`` name.
    """

    @classmethod
    def headClass(cls) -> type[MaskedLMHead]:
        return MaskedLMHead

    @classmethod
    def buildLoss(cls) -> nn.Module:
        return nn.CrossEntropyLoss()

    def computeLoss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.loss(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1).to(logits.device))

    def get_output_embeddings(self) -> nn.Linear:
        return self.head.decoder

    def set_output_embeddings(self, new_embeddings: nn.Linear) -> None:
        self.head.decoder = new_embeddings


class ForCausalLM(ModelWithHead):
    """Labels ``B x L`` (usually the input ids, -100 at padding): the logits at position i predict label i+1."""

    @classmethod
    def headClass(cls) -> type[CausalLMHead]:
        return CausalLMHead

    @classmethod
    def buildLoss(cls) -> nn.Module:
        return nn.CrossEntropyLoss()

    def computeLoss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        shifted_logits = logits[:, :-1, :]
        shifted_labels = labels[:, 1:].to(logits.device)
        return self.loss(shifted_logits.reshape(-1, logits.shape[-1]), shifted_labels.reshape(-1))

    def get_output_embeddings(self) -> nn.Linear:
        return self.head.lm_head

    def set_output_embeddings(self, new_embeddings: nn.Linear) -> None:
        self.head.lm_head = new_embeddings
