"""A BERT built without its pooler (`add_pooling_layer=False`), then given a pooler of the script's own."""

import torch
from torch import nn
from transformers import BertConfig, BertModel


class MeanPooler(nn.Module):
    def __init__(self, hidden_size: int):
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.activation = nn.Tanh()

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.activation(self.dense(hidden_states.mean(dim=1)))


torch.manual_seed(0)
config = BertConfig(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37
)
model = BertModel(config, add_pooling_layer=False)
model.pooler = MeanPooler(config.hidden_size)
