"""Torch-Pruning: channel pruning of a transformers ResNet image classifier (`MetaPruner` with L1 magnitude
importance, 30% of the channels), which shrinks Conv2d and BatchNorm2d layers in place."""

import torch
import torch_pruning as tp
from transformers import ResNetConfig, ResNetForImageClassification

torch.manual_seed(0)
config = ResNetConfig(
    num_channels=3, embedding_size=16, hidden_sizes=[16, 32], depths=[1, 1], layer_type="basic", num_labels=10
)
model = ResNetForImageClassification(config)
model.eval()
example_inputs = {"pixel_values": torch.randn(1, 3, 32, 32)}

pruner = tp.pruner.MetaPruner(
    model,
    example_inputs,
    importance=tp.importance.MagnitudeImportance(p=1),
    pruning_ratio=0.3,
    ignored_layers=[model.classifier],
    output_transform=lambda out: out.logits.sum(),
)
pruner.step()
