"""opacus: a torchvision ResNet-18 made differential-privacy compatible with `ModuleValidator.fix`, which
returns a copy whose BatchNorm layers are GroupNorm layers, as opacus' CIFAR-10 tutorial does."""

import torch
from opacus.validators import ModuleValidator
from torchvision.models import resnet18

torch.manual_seed(0)
model = resnet18(weights=None, num_classes=10)
errors = ModuleValidator.validate(model, strict=False)
model = ModuleValidator.fix(model)

example_inputs = {"x": torch.randn(2, 3, 32, 32)}
