"""loralib (Microsoft's original LoRA): the query and value projections of a BERT replaced by `lora.Linear`
with the pretrained weights copied, then `mark_only_lora_as_trainable`, as loralib's README shows."""

import loralib as lora
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
    attention = layer.attention.self
    for name in ("query", "value"):
        old = getattr(attention, name)
        new = lora.Linear(old.in_features, old.out_features, r=4, lora_alpha=8)
        new.load_state_dict(old.state_dict(), strict=False)
        setattr(attention, name, new)
lora.mark_only_lora_as_trainable(model)

example_inputs = {"input_ids": torch.tensor([[1, 5, 7, 9, 2]])}
