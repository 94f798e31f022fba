"""`model.apply(init_fn)` re-initialisation of every Linear (Xavier, zero bias): weights only."""

import torch
from torch import nn
from transformers import BertConfig, BertForSequenceClassification


def xavier(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        nn.init.zeros_(module.bias)


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
model.apply(xavier)
