"""Training settings only: gradient checkpointing enabled, eager attention chosen at run time
(`set_attn_implementation`), dropout probabilities kept."""

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
model.gradient_checkpointing_enable()
model.set_attn_implementation("eager")
