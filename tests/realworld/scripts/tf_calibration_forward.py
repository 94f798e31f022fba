"""A BERT classifier's head replaced by a two-layer MLP, then a calibration forward pass on a few batches (as
post-training quantization and sanity checks do after surgery)."""

import torch
from torch import nn
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
model.classifier = nn.Sequential(nn.Linear(32, 16), nn.GELU(), nn.Linear(16, 3))

model.eval()
with torch.no_grad():
    for _ in range(3):
        model(input_ids=torch.randint(0, 99, (2, 8)), output_hidden_states=True)

example_inputs = {"input_ids": torch.tensor([[1, 5, 7, 9, 2]])}
