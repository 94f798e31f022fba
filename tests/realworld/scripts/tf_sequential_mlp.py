"""Each Llama MLP replaced by a plain `nn.Sequential` built by a factory function (a smaller GELU MLP)."""

import torch
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM


def make_mlp(hidden: int, inner: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(hidden, inner), nn.GELU(), nn.Linear(inner, hidden))


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

for layer in model.model.layers:
    layer.mlp = make_mlp(config.hidden_size, 16)
