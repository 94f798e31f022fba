"""A scalar value head added beside GPT-2's LM head (as for RLHF), plus a dropout before it."""

import torch
from torch import nn
from transformers import GPT2Config, GPT2LMHeadModel

torch.manual_seed(0)
config = GPT2Config(vocab_size=99, n_embd=32, n_layer=2, n_head=4, n_positions=64)
model = GPT2LMHeadModel(config)

model.v_head = nn.Sequential(nn.Dropout(0.1), nn.Linear(config.n_embd, 1))
