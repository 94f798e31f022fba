"""The second BERT layer replaced by a copy of the first (``copy.deepcopy``)."""

import copy

import torch
from transformers import BertConfig, BertModel

torch.manual_seed(0)
config = BertConfig(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37
)
model = BertModel(config)

model.encoder.layer[1] = copy.deepcopy(model.encoder.layer[0])
