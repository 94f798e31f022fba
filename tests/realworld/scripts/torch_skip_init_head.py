"""A new classification head built with ``torch.nn.utils.skip_init`` (no initialisation), then filled by hand,
on a BERT classifier."""

import torch
from torch import nn
from torch.nn.utils import skip_init
from transformers import BertConfig, BertForSequenceClassification

torch.manual_seed(0)
config = BertConfig(
    vocab_size=99,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    num_labels=2,
)
model = BertForSequenceClassification(config)
head = skip_init(nn.Linear, config.hidden_size, 5)
with torch.no_grad():
    nn.init.normal_(head.weight, std=0.02)
    head.bias.zero_()
model.classifier = head
model.num_labels = 5
