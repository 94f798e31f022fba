"""optimum-quanto: int8 weights for a BERT classifier, then frozen (the weights are stored quantized)."""

import torch
from optimum.quanto import freeze, qint8, quantize
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
model = BertForSequenceClassification(config).eval()
quantize(model, weights=qint8)
freeze(model)
