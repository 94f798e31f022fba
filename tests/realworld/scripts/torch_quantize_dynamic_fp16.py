"""torch dynamic quantization to float16 weights of every Linear of a DistilBERT classifier."""

import torch
from torch import nn
from transformers import DistilBertConfig, DistilBertForSequenceClassification

torch.manual_seed(0)
config = DistilBertConfig(vocab_size=99, dim=32, n_layers=2, n_heads=4, hidden_dim=37, num_labels=2)
model = DistilBertForSequenceClassification(config).eval()
torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.float16, inplace=True)
