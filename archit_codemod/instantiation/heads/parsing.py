"""Biaffine dependency parsing head (Dozat & Manning, 2017), in plain torch (see :mod:`~.layers`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from transformers.modeling_outputs import BaseModelOutputWithPoolingAndNoAttention

from archit_codemod.instantiation.abstracts.head import Head
from archit_codemod.instantiation.configs import BaseModelConfig
from archit_codemod.instantiation.extensions import PoolingAndStridingConfig
from archit_codemod.instantiation.heads.classification import HeadConfigWithLabels, requirePositiveLabels
from archit_codemod.instantiation.layers import MLP, Biaffine

try:  # transformers 5: init functions that leave parameters loaded from a checkpoint alone
    from transformers import initialization as _init
except ImportError:  # transformers 4.57
    _init = torch.nn.init

__all__ = ["DependencyParsingHead", "DependencyParsingHeadConfig"]


@dataclass
class DependencyParsingHeadConfig(HeadConfigWithLabels):
    """``num_labels`` (keyword-only) is the number of relation labels.

    Args:
        extended_model_config: how word vectors are made from tokens (layer mix, subword pooling, striding).
        final_hidden_size_arcs: size of the arc MLPs' output, the biaffine arc scorer's input.
        final_hidden_size_relations: same for the relation MLPs and scorer.
        head_dropout: dropout inside the MLPs (shared across positions).
        standardisation_exponent: arc scores are divided by ``final_hidden_size_arcs ** exponent``.
    """

    extended_model_config: PoolingAndStridingConfig = field(default_factory=PoolingAndStridingConfig)
    final_hidden_size_arcs: int = 500
    final_hidden_size_relations: int = 100
    head_dropout: float = 0.33
    standardisation_exponent: int = 0


class DependencyParsingHead(Head[DependencyParsingHeadConfig]):
    """Word vectors ``B x W x H`` -> ``(arc_scores B x W x W, relation_scores B x W x W x num_labels)``.

    ``arc_scores[b, i, j]`` scores word j as the head of word i; ``relation_scores[b, i, j, r]`` scores relation r
    for that arc. Arcs towards padding words (where the word mask is 0) score the lowest finite value.
    """

    def __init__(self, base_config: BaseModelConfig, head_config: DependencyParsingHeadConfig):
        super().__init__(base_config, head_config)
        hidden, arcs, relations = (
            base_config.hidden_size,
            head_config.final_hidden_size_arcs,
            head_config.final_hidden_size_relations,
        )
        self.dropout = nn.Dropout(base_config.hidden_dropout_prob)
        self.arc_mlp_d = MLP(hidden, arcs, dropout=head_config.head_dropout)
        self.arc_mlp_h = MLP(hidden, arcs, dropout=head_config.head_dropout)
        self.rel_mlp_d = MLP(hidden, relations, dropout=head_config.head_dropout)
        self.rel_mlp_h = MLP(hidden, relations, dropout=head_config.head_dropout)
        self.arc_attn = Biaffine(arcs, scale=head_config.standardisation_exponent, bias_x=True, bias_y=False)
        self.rel_attn = Biaffine(relations, n_out=head_config.num_labels, bias_x=True, bias_y=True)

    def forward(
        self,
        encoder_output: BaseModelOutputWithPoolingAndNoAttention,
        attention_mask: torch.Tensor,
        **kwargs: Any,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``attention_mask`` is ``B x W``, one entry per word."""
        x = self.dropout(encoder_output.last_hidden_state)
        arc_scores = self.arc_attn(self.arc_mlp_d(x), self.arc_mlp_h(x))  # B x W x W
        arc_scores = arc_scores.masked_fill(
            ~attention_mask.bool().unsqueeze(1), torch.finfo(arc_scores.dtype).min
        )
        relation_scores = self.rel_attn(
            self.rel_mlp_d(x), self.rel_mlp_h(x)
        )  # B x R x W x W (or B x W x W if R=1)
        if relation_scores.dim() == 3:
            relation_scores = relation_scores.unsqueeze(1)
        return arc_scores, relation_scores.permute(0, 2, 3, 1)

    @staticmethod
    def initialiseBiaffine(module: nn.Module) -> None:
        """Biaffine scorers start at zero (as in supar); called by the model's ``_init_weights``."""
        if isinstance(module, Biaffine):
            _init.zeros_(module.weight)

    @classmethod
    def configClass(cls) -> type[DependencyParsingHeadConfig]:
        return DependencyParsingHeadConfig

    @classmethod
    def hfEquivalentSuffix(cls) -> str:
        return "ForDependencyParsing"  # transformers has no such class; the name marks the task

    @classmethod
    def assertConfigConstraints(
        cls, base_config: BaseModelConfig, head_config: DependencyParsingHeadConfig
    ) -> None:
        super().assertConfigConstraints(base_config, head_config)
        requirePositiveLabels(cls, head_config)
        for name in ("final_hidden_size_arcs", "final_hidden_size_relations"):
            if getattr(head_config, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(head_config, name)}.")
        if not 0.0 <= head_config.head_dropout < 1.0:
            raise ValueError(f"head_dropout must be in [0, 1), got {head_config.head_dropout}.")
