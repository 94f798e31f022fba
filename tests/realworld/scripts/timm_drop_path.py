"""timm: stochastic depth added to a ViT after creation: each block's `drop_path1`/`drop_path2` identity
replaced by `timm.layers.DropPath` with a rate growing with depth."""

import timm
import torch
from timm.layers import DropPath

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
rates = torch.linspace(0, 0.2, len(model.blocks)).tolist()
for block, rate in zip(model.blocks, rates, strict=True):
    block.drop_path1 = DropPath(rate)
    block.drop_path2 = DropPath(rate)

example_inputs = {"x": torch.randn(2, 3, 32, 32)}
