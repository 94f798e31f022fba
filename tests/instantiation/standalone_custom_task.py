"""A task defined outside archit_codemod, for the standalone-folder tests: a standalone folder copies this module too
(it is the user's own code), with its import of the package rewritten to the module that defines the class."""

import torch
from torch import nn

from archit_codemod.instantiation.tasks import ForSingleLabelTokenClassification

__all__ = ["ForWeightedTokenClassification"]


class ForWeightedTokenClassification(ForSingleLabelTokenClassification):
    """Token classification whose loss counts label 0 half as much as the others."""

    @classmethod
    def buildLoss(cls) -> nn.Module:
        return nn.CrossEntropyLoss(weight=torch.tensor([0.5, 1.0, 1.0]))
