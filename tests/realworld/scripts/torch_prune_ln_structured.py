"""`torch.nn.utils.prune.ln_structured`: half of the output rows (by L2 norm) of each BERT feed-forward
expansion masked (`dim=0`), the structured-sparsity recipe of torch's pruning tutorial."""

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
    prune.ln_structured(layer.intermediate.dense, name="weight", amount=0.5, n=2, dim=0)
