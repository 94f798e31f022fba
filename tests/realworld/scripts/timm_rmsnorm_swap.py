"""timm: every LayerNorm of a ViT replaced by `timm.layers.RmsNorm` of the same width, found with
`named_modules` and set back with `set_submodule`."""

import timm
import torch
from timm.layers import RmsNorm
from torch import nn

torch.manual_seed(0)
model = timm.create_model(
    "vit_tiny_patch16_224",
    pretrained=False,
    img_size=32,
    patch_size=8,
    embed_dim=32,
    depth=2,
    num_heads=2,
    num_classes=10,
)
for name, module in list(model.named_modules()):
    if isinstance(module, nn.LayerNorm):
        model.set_submodule(name, RmsNorm(module.normalized_shape[0], eps=module.eps))

example_inputs = {"x": torch.randn(2, 3, 32, 32)}
