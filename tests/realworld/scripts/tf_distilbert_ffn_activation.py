"""DistilBERT with SiLU instead of GELU in the second layer's feed-forward, and that layer's output LayerNorm
replaced by an RMSNorm."""

import torch
from torch import nn
from transformers import DistilBertConfig, DistilBertForSequenceClassification

torch.manual_seed(0)
config = DistilBertConfig(
    vocab_size=99,
    dim=32,
    n_layers=2,
    n_heads=4,
    hidden_dim=37,
    num_labels=2,
)
model = DistilBertForSequenceClassification(config)
layer = model.distilbert.transformer.layer[1]
layer.ffn.activation = nn.SiLU()
layer.output_layer_norm = nn.RMSNorm(config.dim, eps=1e-12)
