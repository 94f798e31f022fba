"""`nn.Module.compile()` on each BERT layer (compiled in place: the module keeps its class and gets a compiled
call), unlike `torch.compile(module)`, which returns a wrapper."""

import torch
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
    layer.compile(backend="eager")
