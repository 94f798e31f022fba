"""optimum-quanto: float8 weights for the encoder of a BERT model only, frozen."""

import torch
from optimum.quanto import freeze, qfloat8, quantize
from transformers import BertConfig, BertModel

torch.manual_seed(0)
config = BertConfig(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37
)
model = BertModel(config).eval()
quantize(model.encoder, weights=qfloat8)
freeze(model.encoder)
