"""Modify a plain PyTorch network (no transformers) whose classes are defined in this script.

``TinyNetwork`` nests a ``ModuleList`` of ``Block``s built by a list comprehension, each holding a
``FeedForward`` whose layers are an ``nn.Sequential``. The script replaces the activation inside every
block's ``Sequential`` (``ReLU`` -> ``GELU``) and the classifier (``Linear`` -> ``Sequential`` of dropout
and linear). The codemod copies the script's classes into its output and declares ``FeedForwardModified``,
``BlockModified`` and ``TinyNetworkModified``.
"""

import torch
from torch import nn


class FeedForward(nn.Module):
    """Two linear layers around an activation."""

    def __init__(self, dim: int, hidden_dim: int):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(dim, hidden_dim),
            nn.ReLU(),  # elementwise, so any activation fits here
            nn.Linear(hidden_dim, dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class Block(nn.Module):
    """A pre-norm residual feed-forward block."""

    def __init__(self, dim: int, hidden_dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.feed_forward = FeedForward(dim, hidden_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.feed_forward(self.norm(x))


class TinyNetwork(nn.Module):
    """An embedding layer, ``depth`` residual blocks and a classifier."""

    def __init__(self, in_dim: int = 8, dim: int = 16, depth: int = 3, num_classes: int = 4):
        super().__init__()
        self.embed = nn.Linear(in_dim, dim)
        self.blocks = nn.ModuleList([Block(dim, 4 * dim) for _ in range(depth)])
        self.classifier = nn.Linear(dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embed(x)
        for block in self.blocks:
            x = block(x)
        return self.classifier(x)


torch.manual_seed(0)
model = TinyNetwork(in_dim=8, dim=16, depth=3, num_classes=4)
for block in model.blocks:
    block.feed_forward.layers[1] = nn.GELU()
model.classifier = nn.Sequential(nn.Dropout(0.1), nn.Linear(16, 4))

model.eval()
with torch.no_grad():
    logits = model(torch.randn(2, 8))
assert logits.shape == (2, 4)
