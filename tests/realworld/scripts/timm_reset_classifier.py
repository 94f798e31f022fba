"""timm: a ViT's classifier reset for a new dataset (`reset_classifier(num_classes)`), as timm's fine-tuning
guide does after `create_model`."""

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
model.reset_classifier(5)

example_inputs = {"x": torch.randn(2, 3, 32, 32)}
