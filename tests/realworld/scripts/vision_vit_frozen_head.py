"""A ViT image classifier whose head is replaced by an `nn.Sequential` (dropout, linear) and whose last
encoder layer is dropped, config updated."""

import torch
from torch import nn
from transformers import ViTConfig, ViTForImageClassification

torch.manual_seed(0)
config = ViTConfig(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    image_size=16,
    patch_size=4,
    num_labels=10,
)
model = ViTForImageClassification(config)
model.classifier = nn.Sequential(nn.Dropout(0.1), nn.Linear(config.hidden_size, 4))
# ViT's encoder layers are vit.encoder.layer before transformers 5, vit.layers since.
layers = model.vit.layers if hasattr(model.vit, "layers") else model.vit.encoder.layer
del layers[-1]
model.config.num_hidden_layers = len(layers)

example_inputs = {"pixel_values": torch.randn(2, 3, 16, 16)}
