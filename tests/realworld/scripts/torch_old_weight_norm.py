"""The old hook-based ``torch.nn.utils.weight_norm`` (``weight_g``/``weight_v`` and a forward pre-hook)."""

import warnings

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

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)  # deprecated in favour of the parametrization
    nn.utils.weight_norm(model.classifier, name="weight")
