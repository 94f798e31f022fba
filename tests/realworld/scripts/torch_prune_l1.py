"""Magnitude pruning of one projection with ``torch.nn.utils.prune`` (the mask stays as a reparametrisation)."""

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

prune.l1_unstructured(model.bert.encoder.layer[0].attention.self.query, name="weight", amount=0.3)
