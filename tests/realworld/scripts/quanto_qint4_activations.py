"""optimum-quanto: int4 weights and int8 activations for a BERT classifier's encoder (`quantize(model,
weights=qint4, activations=qint8, include=...)`), not calibrated, not frozen."""

import torch
from optimum.quanto import qint4, qint8, quantize
from transformers import BertConfig, BertForSequenceClassification

torch.manual_seed(0)
config = BertConfig(
    vocab_size=99,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=64,
    num_labels=3,
)
model = BertForSequenceClassification(config)
quantize(model, weights=qint4, activations=qint8, include="bert.encoder.*")

example_inputs = {"input_ids": torch.tensor([[1, 5, 7, 9, 2]])}
