"""`torch.nn.utils.prune.random_unstructured` on a GPT-2's attention projections, then `prune.identity` on its
MLP projections (a mask of ones, to be filled in later by a custom criterion)."""

import torch
from torch.nn.utils import prune
from transformers import GPT2Config, GPT2LMHeadModel

torch.manual_seed(0)
config = GPT2Config(vocab_size=99, n_embd=32, n_layer=2, n_head=4, n_positions=64)
model = GPT2LMHeadModel(config)
for block in model.transformer.h:
    prune.random_unstructured(block.attn.c_attn, name="weight", amount=0.3)
    prune.identity(block.mlp.c_fc, name="weight")
