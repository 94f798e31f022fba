"""torchvision: a MobileNetV3-Small whose last classifier layer (an item of the `classifier` Sequential) is
replaced for 4 classes."""

import torch
from torch import nn
from torchvision.models import mobilenet_v3_small

torch.manual_seed(0)
model = mobilenet_v3_small(weights=None)
model.classifier[3] = nn.Linear(model.classifier[3].in_features, 4)

example_inputs = {"x": torch.randn(2, 3, 32, 32)}
