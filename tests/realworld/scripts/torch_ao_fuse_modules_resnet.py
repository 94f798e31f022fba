"""`torch.ao.quantization.fuse_modules` on a transformers ResNet in eval mode: each stem and shortcut
convolution fused with its batch norm (and ReLU), before post-training quantization."""

import torch
from torch.ao.quantization import fuse_modules
from transformers import ResNetConfig, ResNetForImageClassification

torch.manual_seed(0)
config = ResNetConfig(
    num_channels=3, embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], layer_type="basic", num_labels=10
)
model = ResNetForImageClassification(config)
model.eval()
fuse_modules(model.resnet.embedder.embedder, [["convolution", "normalization", "activation"]], inplace=True)
for stage in model.resnet.encoder.stages:
    for layer in stage.layers:
        fuse_modules(layer.layer[0], [["convolution", "normalization", "activation"]], inplace=True)
        fuse_modules(layer.layer[1], [["convolution", "normalization"]], inplace=True)

example_inputs = {"pixel_values": torch.randn(2, 3, 32, 32)}
