"""A forward hook, defined here, that rescales the output of every BERT layer's attention block."""

import torch
from transformers import BertConfig, BertModel


def halve_attention_output(module, inputs, output):
    return (output[0] * 0.5, *output[1:]) if isinstance(output, tuple) else output * 0.5


torch.manual_seed(0)
config = BertConfig(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37
)
model = BertModel(config)

for layer in model.encoder.layer:
    layer.attention.register_forward_hook(halve_attention_output)
