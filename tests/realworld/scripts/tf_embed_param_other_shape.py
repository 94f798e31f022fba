"""A new embedding matrix of another vocabulary size assigned as a Parameter (`embed_tokens.weight = ...`)."""

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

model.model.embed_tokens.weight = nn.Parameter(torch.randn(120, config.hidden_size) * 0.02)
model.model.embed_tokens.num_embeddings = 120
