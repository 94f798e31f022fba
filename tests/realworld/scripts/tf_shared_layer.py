"""ALBERT-like weight sharing in BERT: the first layer object used at both indices of the encoder."""

import torch
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

model.bert.encoder.layer[1] = model.bert.encoder.layer[0]
