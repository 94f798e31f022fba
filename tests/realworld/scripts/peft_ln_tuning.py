"""PEFT LayerNorm tuning (`LNTuningConfig`) on a DistilBERT classifier: each LayerNorm is wrapped with a
trainable copy."""

import torch
from peft import LNTuningConfig, get_peft_model
from transformers import DistilBertConfig, DistilBertForSequenceClassification

torch.manual_seed(0)
config = DistilBertConfig(vocab_size=99, dim=32, n_layers=2, n_heads=4, hidden_dim=37, num_labels=3)
model = DistilBertForSequenceClassification(config)

peft_model = get_peft_model(model, LNTuningConfig(target_modules=["sa_layer_norm", "output_layer_norm"]))
