"""Depth up-scaling: a copy of the last Llama decoder layer appended (``copy.deepcopy``), config updated."""

import copy

import torch
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

model.model.layers.append(copy.deepcopy(model.model.layers[-1]))
model.config.num_hidden_layers = len(model.model.layers)
