"""Activation swap: one Llama MLP's `act_fn` replaced by a tanh-approximated GELU, the other by `nn.SiLU()`."""

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

model.model.layers[0].mlp.act_fn = nn.GELU(approximate="tanh")
model.model.layers[1].mlp.act_fn = nn.SiLU()
