"""`fuse_linear_bn_eval` on a plain network: a Linear followed by BatchNorm1d fused into one Linear."""

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_linear_bn_eval


class Net(nn.Module):
    def __init__(self, features: int = 16, hidden: int = 32):
        super().__init__()
        self.fc = nn.Linear(features, hidden)
        self.bn = nn.BatchNorm1d(hidden)
        self.head = nn.Linear(hidden, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.bn(self.fc(x)))


torch.manual_seed(0)
model = Net(features=16).eval()
model.fc = fuse_linear_bn_eval(model.fc, model.bn)
model.bn = nn.Identity()

example_inputs = {"x": torch.randn(3, 16)}
