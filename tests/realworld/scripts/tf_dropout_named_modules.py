"""Stronger regularisation on a RoBERTa classifier: every ``nn.Dropout`` replaced by a new one with p=0.3 in a
``named_modules()`` loop, through the parent found with ``get_submodule``."""

import torch
from torch import nn
from transformers import RobertaConfig, RobertaForSequenceClassification

torch.manual_seed(0)
config = RobertaConfig(
    vocab_size=99,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    num_labels=2,
)
model = RobertaForSequenceClassification(config)

for name, module in list(model.named_modules()):
    if isinstance(module, nn.Dropout):
        parent_name, _, child_name = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        setattr(parent, child_name, nn.Dropout(p=0.3))
