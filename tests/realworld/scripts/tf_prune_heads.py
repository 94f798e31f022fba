"""transformers' head pruning (``prune_heads``), recorded in ``config.pruned_heads`` (transformers < 5)."""

import torch
from transformers import BertConfig, BertModel

torch.manual_seed(0)
config = BertConfig(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37
)
model = BertModel(config)

model.prune_heads({0: [0, 2], 1: [3]})
