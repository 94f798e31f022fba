"""A Gemma causal LM (input and output embeddings tied) whose ``lm_head`` is replaced by a new Linear with a
bias, initialised from the embedding matrix."""

import torch
from torch import nn
from transformers import GemmaConfig, GemmaForCausalLM

torch.manual_seed(0)
config = GemmaConfig(
    vocab_size=99,
    hidden_size=32,
    intermediate_size=37,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=8,
    max_position_embeddings=64,
)
model = GemmaForCausalLM(config)

head = nn.Linear(config.hidden_size, config.vocab_size, bias=True)
with torch.no_grad():
    head.weight.copy_(model.get_input_embeddings().weight)
    head.bias.zero_()
model.lm_head = head
