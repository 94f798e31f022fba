"""A low-rank parametrization registered with ``unsafe=True``: the stored tensor is a (rank x in) factor pair
flattened into another shape than the weight of each MLP down projection of a Llama causal LM."""

import torch
from torch import nn
from torch.nn.utils import parametrize
from transformers import LlamaConfig, LlamaForCausalLM


class LowRank(nn.Module):
    """Builds the weight from two factors kept side by side in one (rows + cols, rank) tensor."""

    def __init__(self, rows: int, cols: int, rank: int):
        super().__init__()
        self.rows, self.cols, self.rank = rows, cols, rank

    def forward(self, factors: torch.Tensor) -> torch.Tensor:
        left, right = factors[: self.rows], factors[self.rows :]
        return left @ right.T

    def right_inverse(self, weight: torch.Tensor) -> torch.Tensor:
        u, s, vh = torch.linalg.svd(weight, full_matrices=False)
        root = s[: self.rank].sqrt()
        return torch.cat([u[:, : self.rank] * root, vh[: self.rank].T * root])


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
    rows, cols = layer.mlp.down_proj.weight.shape
    parametrize.register_parametrization(layer.mlp.down_proj, "weight", LowRank(rows, cols, 4), unsafe=True)
