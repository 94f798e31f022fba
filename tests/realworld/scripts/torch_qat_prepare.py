"""Quantization-aware training prepared for the classifier of a BERT model only (`qconfig` on one module,
`torch.ao.quantization.prepare_qat`): the classifier becomes a fake-quantized QAT `Linear`."""

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
model = BertForSequenceClassification(config).train()

model.classifier.qconfig = torch.ao.quantization.get_default_qat_qconfig("fbgemm")
torch.ao.quantization.prepare_qat(model, inplace=True)
