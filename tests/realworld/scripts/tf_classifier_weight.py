"""A classifier grown to more labels by assigning new parameters (`classifier.weight = nn.Parameter(...)`),
with `out_features` and the config updated, as label-extension recipes do."""

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

old = model.classifier
new_rows = torch.randn(2, config.hidden_size) * 0.02
model.classifier.weight = nn.Parameter(torch.cat([old.weight.data, new_rows]))
model.classifier.bias = nn.Parameter(torch.cat([old.bias.data, torch.zeros(2)]))
model.classifier.out_features = 5
model.config.num_labels = 5
model.num_labels = 5
