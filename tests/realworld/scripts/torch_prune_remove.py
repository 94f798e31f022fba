"""Pruning made permanent with ``prune.remove``: only the zeroed values remain, the structure is the original."""

import torch
from torch.nn.utils import prune
from transformers import BertConfig, BertForSequenceClassification

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

for layer in model.bert.encoder.layer:
    prune.random_unstructured(layer.attention.output.dense, name="weight", amount=0.25)
    prune.remove(layer.attention.output.dense, "weight")
