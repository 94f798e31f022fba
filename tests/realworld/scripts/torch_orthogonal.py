"""An orthogonal parametrisation of the value projections of a BERT model."""

import torch
from torch.nn.utils.parametrizations import orthogonal
from transformers import BertConfig, BertModel

torch.manual_seed(0)
config = BertConfig(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37
)
model = BertModel(config)

for layer in model.encoder.layer:
    orthogonal(layer.attention.self.value)
