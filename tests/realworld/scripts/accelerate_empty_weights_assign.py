"""accelerate: a model built without allocating weights (`init_empty_weights()`) and filled from a state dict
with `load_state_dict(sd, assign=True)`, then its weights tied, as big-model loading code does."""

import torch
from accelerate import init_empty_weights
from transformers import BertConfig, BertForMaskedLM

torch.manual_seed(0)
config = BertConfig(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37
)
state_dict = BertForMaskedLM(config).state_dict()

with init_empty_weights():
    model = BertForMaskedLM(config)
model.load_state_dict(state_dict, assign=True)
model.tie_weights()
