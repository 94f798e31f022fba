"""Conv/BatchNorm fusion for inference in a small CNN (`fuse_conv_bn_eval`, the batch norm becomes
`nn.Identity`); no transformers."""

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


class TinyCNN(nn.Module):
    def __init__(self, channels: int = 8, classes: int = 4) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, channels, kernel_size=3, padding=1)
        self.bn = nn.BatchNorm2d(channels)
        self.act = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(channels, classes)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.act(self.bn(self.conv(pixels)))).flatten(1))


torch.manual_seed(0)
model = TinyCNN().eval()
model.conv = fuse_conv_bn_eval(model.conv, model.bn)
model.bn = nn.Identity()

example_inputs = {"pixels": torch.randn(2, 3, 8, 8)}
