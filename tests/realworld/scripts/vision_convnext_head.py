"""A ConvNeXt image classifier whose head becomes a dropout and a smaller linear layer."""

import torch
from torch import nn
from transformers import ConvNextConfig, ConvNextForImageClassification

torch.manual_seed(0)
config = ConvNextConfig(
    num_channels=3,
    hidden_sizes=[8, 16],
    depths=[1, 1],
    num_stages=2,
    image_size=32,
    patch_size=4,
    num_labels=10,
)
model = ConvNextForImageClassification(config)
model.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(config.hidden_sizes[-1], 3))

example_inputs = {"pixel_values": torch.randn(2, 3, 32, 32)}
