"""Dropout off for fine-tuning: every dropout probability of a BERT classifier set to zero after building it."""

import torch
from torch import nn
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

for module in model.modules():
    if isinstance(module, nn.Dropout):
        module.p = 0.0
