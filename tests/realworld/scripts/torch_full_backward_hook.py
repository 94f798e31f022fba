"""A gradient-clipping `register_full_backward_hook` on each BERT layer's output dense, a function of the script."""

import torch
from transformers import BertConfig, BertForSequenceClassification


def clip_gradients(module, grad_input, grad_output):
    return tuple(None if grad is None else grad.clamp(-1.0, 1.0) for grad in grad_input)


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
    layer.output.dense.register_full_backward_hook(clip_gradients)
