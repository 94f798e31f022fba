"""A BERT encoder with its first layer deleted (`del layer[0]`) and no pooler (`model.pooler = None`)."""

import torch
from transformers import BertConfig, BertModel

torch.manual_seed(0)
config = BertConfig(
    vocab_size=99,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    num_labels=3,
)
model = BertModel(config)

del model.encoder.layer[0]
model.config.num_hidden_layers = len(model.encoder.layer)
model.pooler = None
