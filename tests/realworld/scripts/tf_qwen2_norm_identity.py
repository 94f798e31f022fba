"""The final RMSNorm of a Qwen2 causal LM removed: ``model.model.norm = nn.Identity()``."""

import torch
from torch import nn
from transformers import Qwen2Config, Qwen2ForCausalLM

torch.manual_seed(0)
config = Qwen2Config(
    vocab_size=99,
    hidden_size=32,
    intermediate_size=37,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=64,
)
model = Qwen2ForCausalLM(config)
model.model.norm = nn.Identity()
