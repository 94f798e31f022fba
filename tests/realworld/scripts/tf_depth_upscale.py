"""Depth up-scaling of a Llama: every layer duplicated with `copy.deepcopy` and `insert`, the attention layer
indices (which the KV cache reads) renumbered, and the config updated."""

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
layers = model.model.layers
for index in reversed(range(len(layers))):
    layers.insert(index + 1, copy.deepcopy(layers[index]))
for index, layer in enumerate(layers):
    layer.self_attn.layer_idx = index
model.config.num_hidden_layers = len(layers)
