"""torchvision: stochastic depth raised in the blocks of a ConvNeXt's second stage (`StochasticDepth` replaced
item by item), as fine-tuning recipes adjust it after building the model."""

import torch
from torchvision.models import convnext_tiny
from torchvision.ops import StochasticDepth

torch.manual_seed(0)
model = convnext_tiny(weights=None, num_classes=10)
for block in model.features[3]:
    block.stochastic_depth = StochasticDepth(0.2, "row")

example_inputs = {"x": torch.randn(2, 3, 32, 32)}
