"""Global magnitude pruning over the feed-forward layers of every BERT layer."""

import torch
from torch.nn.utils import prune
from transformers import BertConfig, BertModel

torch.manual_seed(0)
config = BertConfig(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37
)
model = BertModel(config)

parameters_to_prune = []
for layer in model.encoder.layer:
    parameters_to_prune.append((layer.intermediate.dense, "weight"))
    parameters_to_prune.append((layer.output.dense, "weight"))
prune.global_unstructured(parameters_to_prune, pruning_method=prune.L1Unstructured, amount=0.5)
