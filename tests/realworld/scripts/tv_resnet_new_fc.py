"""torchvision: a ResNet-18 fine-tuned on a 10-class dataset, its `fc` replaced, as torchvision's transfer
learning tutorial does."""

import torch
import torchvision
from torch import nn

torch.manual_seed(0)
model = torchvision.models.resnet18(weights=None)
model.fc = nn.Linear(model.fc.in_features, 10)

example_inputs = {"x": torch.randn(2, 3, 32, 32)}
