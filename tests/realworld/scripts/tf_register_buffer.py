"""A new buffer on a GPT-2 model's final norm (`register_buffer`, saved in the checkpoint) and a
non-persistent one on its head, as calibration and logit-scaling recipes add them."""

import torch
from transformers import GPT2Config, GPT2LMHeadModel

torch.manual_seed(0)
config = GPT2Config(vocab_size=99, n_embd=32, n_layer=2, n_head=4, n_positions=64)
model = GPT2LMHeadModel(config)

model.transformer.ln_f.register_buffer("temperature", torch.tensor(1.5))
model.lm_head.register_buffer("logit_bias", torch.zeros(config.vocab_size), persistent=False)
