"""Weight normalisation (``torch.nn.utils.parametrizations.weight_norm``) of a BERT classifier's head."""

import torch
from torch.nn.utils.parametrizations import weight_norm
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

model.classifier = weight_norm(model.classifier)
model.bert.pooler.dense = weight_norm(model.bert.pooler.dense, dim=0)
