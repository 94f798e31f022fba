"""An ALBERT masked LM given a new submodule that its forward does not use yet (``model.extra``), plus a wider
feed-forward in its one shared layer."""

import torch
from torch import nn
from transformers import AlbertConfig, AlbertForMaskedLM

torch.manual_seed(0)
config = AlbertConfig(
    vocab_size=99,
    embedding_size=16,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
)
model = AlbertForMaskedLM(config)

model.extra = nn.Linear(config.hidden_size, 8)
shared_layer = model.albert.encoder.albert_layer_groups[0].albert_layers[0]
shared_layer.ffn = nn.Linear(config.hidden_size, 64)
shared_layer.ffn_output = nn.Linear(64, config.hidden_size)
