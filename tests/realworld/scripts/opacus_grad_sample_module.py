"""opacus: a BERT classifier wrapped in `GradSampleModule` (per-sample gradient hooks on every trainable
layer), with only the classifier and the last layer trainable, as opacus' BERT tutorial does."""

import torch
from opacus import GradSampleModule
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
bert = BertForSequenceClassification(config)
trainable_layers = [bert.bert.encoder.layer[-1], bert.bert.pooler, bert.classifier]
for parameter in bert.parameters():
    parameter.requires_grad = False
for layer in trainable_layers:
    for parameter in layer.parameters():
        parameter.requires_grad = True
model = GradSampleModule(bert)

example_inputs = {"input_ids": torch.tensor([[1, 5, 7, 9, 2]])}
