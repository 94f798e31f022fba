"""optimum-quanto on a BERT classifier: int4 weights, int8 activations, the classifier excluded."""

import torch
from optimum.quanto import qint4, qint8, quantize
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
quantize(model, weights=qint4, activations=qint8, exclude=["classifier"])
