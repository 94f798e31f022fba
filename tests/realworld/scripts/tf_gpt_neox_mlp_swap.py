"""GPT-NeoX: the first layer's MLP replaced by a gated MLP defined in the script."""

import torch
from torch import nn
from transformers import GPTNeoXConfig, GPTNeoXForCausalLM


class GatedMLP(nn.Module):
    def __init__(self, hidden_size: int, inner_size: int):
        super().__init__()
        self.gate = nn.Linear(hidden_size, inner_size, bias=False)
        self.up = nn.Linear(hidden_size, inner_size, bias=False)
        self.down = nn.Linear(inner_size, hidden_size, bias=False)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.down(nn.functional.silu(self.gate(hidden_states)) * self.up(hidden_states))


torch.manual_seed(0)
config = GPTNeoXConfig(
    vocab_size=99,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    max_position_embeddings=64,
)
model = GPTNeoXForCausalLM(config)
model.gpt_neox.layers[0].mlp = GatedMLP(config.hidden_size, inner_size=48)
