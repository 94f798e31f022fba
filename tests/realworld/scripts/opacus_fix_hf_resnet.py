"""opacus: a transformers ResNet made differential-privacy compatible with `ModuleValidator.fix` (BatchNorm2d
replaced by GroupNorm in a copy of the model), then checked with `ModuleValidator.validate`."""

import torch
from opacus.validators import ModuleValidator
from transformers import ResNetConfig, ResNetForImageClassification

torch.manual_seed(0)
config = ResNetConfig(
    num_channels=3, embedding_size=16, hidden_sizes=[16, 32], depths=[1, 1], layer_type="basic", num_labels=10
)
model = ResNetForImageClassification(config)
model = ModuleValidator.fix(model)
assert not ModuleValidator.validate(model, strict=False)

example_inputs = {"pixel_values": torch.randn(2, 3, 32, 32)}
