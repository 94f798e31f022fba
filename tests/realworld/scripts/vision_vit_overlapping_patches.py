"""ViT with overlapping patches: the patch projection replaced by a Conv2d with a larger kernel and padding (same
stride, so the number of patches and the position embeddings do not change)."""

import torch
from torch import nn
from transformers import ViTConfig, ViTForImageClassification

torch.manual_seed(0)
config = ViTConfig(
    image_size=32,
    patch_size=8,
    num_channels=3,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    num_labels=3,
)
model = ViTForImageClassification(config)
model.vit.embeddings.patch_embeddings.projection = nn.Conv2d(3, 32, kernel_size=12, stride=8, padding=2)

example_inputs = {"pixel_values": torch.randn(1, 3, 32, 32)}
