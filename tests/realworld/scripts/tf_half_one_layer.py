"""Mixed precision by hand: one Llama decoder layer cast to bfloat16 with `.to(torch.bfloat16)`."""

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

model.model.layers[1].to(torch.bfloat16)
