"""timm: a ViT adapted to a larger input resolution (`set_input_size(img_size=...)`): the position embedding is
resampled to the new patch grid and the patch embedding's image size updated."""

import timm
import torch

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
model.set_input_size(img_size=(48, 48))

example_inputs = {"x": torch.randn(2, 3, 48, 48)}
