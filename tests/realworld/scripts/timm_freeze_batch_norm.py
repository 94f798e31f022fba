"""timm: every BatchNorm2d of a ResNet frozen into a `FrozenBatchNorm2d` (`timm.layers.freeze_batch_norm_2d`),
as detection backbones are fine-tuned."""

import timm
import torch
from timm.layers import freeze_batch_norm_2d

torch.manual_seed(0)
model = timm.create_model("resnet18", pretrained=False, num_classes=10)
model = freeze_batch_norm_2d(model)

example_inputs = {"x": torch.randn(2, 3, 32, 32)}
