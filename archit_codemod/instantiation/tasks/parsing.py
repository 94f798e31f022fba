"""Dependency parsing over words: arc and relation cross-entropy."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from archit_codemod.instantiation.extensions import ForTokensGroupedByWord
from archit_codemod.instantiation.heads.parsing import DependencyParsingHead

__all__ = ["ForDependencyParsing", "dependencyParsingLoss"]


def dependencyParsingLoss(
    arc_scores: torch.Tensor,
    relation_scores: torch.Tensor,
    arc_labels: torch.Tensor,
    relation_labels: torch.Tensor,
    ignore_index: int = -100,
) -> torch.Tensor:
    """Mean arc cross-entropy plus mean relation cross-entropy, over the words whose arc label is not ignored.

    Per counted word i of example b, the arc term is ``-log softmax_j(arc_scores[b, i, :])[head]`` with ``head =
    arc_labels[b, i]``, and the relation term is ``-log softmax_r(relation_scores[b, i, head, :])[relation_labels
    [b, i]]``: the relation is scored on the gold arc (supar's ``BiaffineDependencyModel.loss``). Relation labels
    equal to ``ignore_index`` are left out of the relation mean.
    """
    counted = arc_labels.ne(ignore_index)
    heads = arc_labels[counted]
    arc_loss = nn.functional.cross_entropy(arc_scores[counted], heads, ignore_index=ignore_index)
    relation_scores_on_gold_arcs = relation_scores[counted][
        torch.arange(len(heads), device=heads.device), heads
    ]
    relation_loss = nn.functional.cross_entropy(
        relation_scores_on_gold_arcs, relation_labels[counted], ignore_index=ignore_index
    )
    return arc_loss + relation_loss


class ForDependencyParsing(ForTokensGroupedByWord):
    """Inputs ``B x W x S`` (see :class:`~.extensions.ForTokensGroupedByWord`); labels ``(arc_labels,
    relation_labels)``, each ``B x W`` (or one ``B x W x 2`` tensor): the index of each word's head word (in the
    same word axis, so a root symbol must be one of the words) and its relation label, -100 where there is no label
    (padding words, special tokens, the root symbol itself). The loss is :func:`dependencyParsingLoss`.
    """

    @classmethod
    def headClass(cls) -> type[DependencyParsingHead]:
        return DependencyParsingHead

    @classmethod
    def buildLoss(cls) -> nn.Module:
        return nn.CrossEntropyLoss()  # documents the loss; dependencyParsingLoss applies it per part

    def computeLoss(
        self, logits: tuple[torch.Tensor, torch.Tensor], labels: Sequence[torch.Tensor] | torch.Tensor
    ) -> torch.Tensor:
        arc_scores, relation_scores = logits
        if isinstance(labels, torch.Tensor):
            if labels.dim() != 3 or labels.shape[-1] != 2:
                raise ValueError(
                    f"Dependency parsing labels are (arc_labels, relation_labels) or one B x W x 2 tensor; got a "
                    f"tensor of shape {tuple(labels.shape)}."
                )
            arc_labels, relation_labels = labels[..., 0], labels[..., 1]
        else:
            arc_labels, relation_labels = labels
        device = arc_scores.device
        return dependencyParsingLoss(
            arc_scores, relation_scores, arc_labels.to(device), relation_labels.to(device)
        )

    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        DependencyParsingHead.initialiseBiaffine(module)
