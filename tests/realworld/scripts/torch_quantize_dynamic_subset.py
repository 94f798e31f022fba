"""Dynamic int8 quantization of the feed-forward layers of a BERT classifier only (`qconfig_spec`)."""

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
model = BertForSequenceClassification(config).eval()

feed_forward = {f"bert.encoder.layer.{i}.intermediate.dense" for i in range(config.num_hidden_layers)}
model = torch.ao.quantization.quantize_dynamic(model, qconfig_spec=feed_forward, dtype=torch.qint8)
