"""A plain PyTorch network (no transformers): one layer pruned, the head weight-normalised, a dropout appended."""

import torch
from torch import nn
from torch.nn.utils import prune
from torch.nn.utils.parametrizations import weight_norm


class MLP(nn.Module):
    def __init__(self, features: int = 16, hidden: int = 32, classes: int = 4):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
        )
        self.head = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.layers(x))


torch.manual_seed(0)
model = MLP(features=16, hidden=32)
prune.l1_unstructured(model.layers[0], name="weight", amount=0.5)
model.head = weight_norm(model.head)
model.layers.append(nn.Dropout(0.1))

example_inputs = {"x": torch.randn(3, 16)}
