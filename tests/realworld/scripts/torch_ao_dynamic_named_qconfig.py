"""torch.ao dynamic quantization of chosen modules by name (`quantize_dynamic` with a `qconfig_spec` dict from
module names to QConfigs): the feed-forward layers of the first BERT layer only."""

import torch
from torch.ao.quantization import default_dynamic_qconfig, quantize_dynamic
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
model.eval()
qconfig_spec = {
    "bert.encoder.layer.0.intermediate.dense": default_dynamic_qconfig,
    "bert.encoder.layer.0.output.dense": default_dynamic_qconfig,
}
model = quantize_dynamic(model, qconfig_spec, dtype=torch.qint8)

example_inputs = {"input_ids": torch.tensor([[1, 5, 7, 9, 2]])}
