"""A custom parametrisation, registered with ``torch.nn.utils.parametrize``, keeps a projection symmetric."""

import torch
from torch import nn
from torch.nn.utils import parametrize
from transformers import BertConfig, BertModel


class Symmetric(nn.Module):
    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight.triu() + weight.triu(1).transpose(-1, -2)


torch.manual_seed(0)
config = BertConfig(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37
)
model = BertModel(config)

for layer in model.encoder.layer:
    parametrize.register_parametrization(layer.attention.self.query, "weight", Symmetric())
