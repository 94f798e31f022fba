"""Every LayerNorm of a BERT model replaced by an RMSNorm (found with ``named_modules``)."""

import torch
from torch import nn
from transformers import BertConfig, BertModel


class RMSNorm(nn.Module):
    def __init__(self, hidden_size: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.eps = eps

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        variance = hidden_states.pow(2).mean(-1, keepdim=True)
        return self.weight * hidden_states * torch.rsqrt(variance + self.eps)


torch.manual_seed(0)
config = BertConfig(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37
)
model = BertModel(config)

for name, module in list(model.named_modules()):
    if isinstance(module, nn.LayerNorm):
        parent_name, _, child_name = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        setattr(parent, child_name, RMSNorm(module.normalized_shape[0], eps=module.eps))
