"""A BERT feed-forward block traced with `torch.fx.symbolic_trace` and put back (a `GraphModule` in the
tree), as graph-rewriting passes do."""

import torch
from torch import fx
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

layer = model.bert.encoder.layer[0]
layer.intermediate = fx.symbolic_trace(layer.intermediate)
