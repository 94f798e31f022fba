"""A fresh, untied GPT-2 output layer, while ``config.tie_word_embeddings`` stays True."""

import torch
from torch import nn
from transformers import GPT2Config, GPT2LMHeadModel

torch.manual_seed(0)
config = GPT2Config(vocab_size=99, n_embd=32, n_layer=2, n_head=4, n_positions=64)
model = GPT2LMHeadModel(config)

model.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
