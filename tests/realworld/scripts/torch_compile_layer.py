"""One BERT layer compiled with `torch.compile` and put back (an `OptimizedModule` in the tree)."""

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

model.bert.encoder.layer[1] = torch.compile(model.bert.encoder.layer[1], backend="eager")
