"""GPT-2's `Conv1D` projections of the MLP replaced by `nn.Linear` with the transposed weights."""

import torch
from torch import nn
from transformers import GPT2Config, GPT2LMHeadModel

torch.manual_seed(0)
config = GPT2Config(vocab_size=99, n_embd=32, n_layer=2, n_head=4, n_positions=64)
model = GPT2LMHeadModel(config)
for block in model.transformer.h:
    for name in ("c_fc", "c_proj"):
        conv = getattr(block.mlp, name)
        linear = nn.Linear(conv.weight.shape[0], conv.weight.shape[1])
        with torch.no_grad():
            linear.weight.copy_(conv.weight.T)
            linear.bias.copy_(conv.bias)
        setattr(block.mlp, name, linear)
