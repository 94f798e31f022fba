"""A user parametrization on BERT's word embeddings (rows kept at unit norm), registered with
`parametrize.register_parametrization`."""

import torch
from torch import nn
from torch.nn.utils import parametrize
from transformers import BertConfig, BertForSequenceClassification


class UnitRows(nn.Module):
    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight / weight.norm(dim=-1, keepdim=True).clamp_min(1e-6)


torch.manual_seed(0)
config = BertConfig(
    vocab_size=99,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    num_labels=3,
)
model = BertForSequenceClassification(config)

parametrize.register_parametrization(model.bert.embeddings.word_embeddings, "weight", UnitRows())
