"""Structured pruning of several BERT layers (`prune.ln_structured` over output rows) and random unstructured
pruning of the classifier."""

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
    prune.ln_structured(layer.intermediate.dense, name="weight", amount=0.25, n=2, dim=0)
prune.random_unstructured(model.classifier, name="weight", amount=0.5)
