"""torchvision: a quantizable ResNet-18 with its conv/bn/relu groups fused (`fuse_model()`, which calls
`torch.ao.quantization.fuse_modules` in place), the first step of torchvision's quantization recipe."""

import torch
from torchvision.models.quantization import resnet18

torch.manual_seed(0)
model = resnet18(weights=None, quantize=False, num_classes=10)
model.eval()
model.fuse_model()

example_inputs = {"x": torch.randn(2, 3, 32, 32)}
