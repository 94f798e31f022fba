"""A transformers ResNet image classifier: classifier replaced by a two-layer head with dropout for 3 classes."""

import torch
from torch import nn
from transformers import ResNetConfig, ResNetForImageClassification

torch.manual_seed(0)
config = ResNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], num_labels=10)
model = ResNetForImageClassification(config)
model.classifier[1] = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3))
model.config.num_labels = 3
model.num_labels = 3

example_inputs = {"pixel_values": torch.randn(2, 3, 32, 32)}
