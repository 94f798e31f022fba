"""`prune.custom_from_mask` on a BERT classifier with a hand-made mask (every other input feature)."""

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
mask = torch.ones_like(model.classifier.weight)
mask[:, ::2] = 0
prune.custom_from_mask(model.classifier, name="weight", mask=mask)
