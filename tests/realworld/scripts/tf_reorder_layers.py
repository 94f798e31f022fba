"""Layer surgery on a Llama: the two decoder layers reversed, then a copy of the first inserted in front."""

import copy

import torch
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM

torch.manual_seed(0)
config = LlamaConfig(
    vocab_size=99,
    hidden_size=32,
    intermediate_size=37,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=64,
)
model = LlamaForCausalLM(config)

model.model.layers = nn.ModuleList(reversed(model.model.layers))
model.model.layers.insert(0, copy.deepcopy(model.model.layers[0]))
model.config.num_hidden_layers = len(model.model.layers)
