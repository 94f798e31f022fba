"""A GPT-2 LM head replaced by a new Linear, then `tie_weights()` ties it to the word embeddings again."""

import torch
from torch import nn
from transformers import GPT2Config, GPT2LMHeadModel

torch.manual_seed(0)
config = GPT2Config(vocab_size=99, n_embd=32, n_layer=2, n_head=4, n_positions=64)
model = GPT2LMHeadModel(config)
model.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
model.tie_weights()
