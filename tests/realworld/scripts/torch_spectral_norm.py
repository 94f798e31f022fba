"""Spectral normalisation of the feed-forward projections of every BERT layer."""

import torch
from torch.nn.utils.parametrizations import spectral_norm
from transformers import BertConfig, BertModel

torch.manual_seed(0)
config = BertConfig(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37
)
model = BertModel(config)

for layer in model.encoder.layer:
    spectral_norm(layer.intermediate.dense, n_power_iterations=2)
