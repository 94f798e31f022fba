"""A forward pre-hook registered ``with_kwargs=True`` on each GPT-2 block: it scales the hidden states the block
receives (a residual-stream intervention)."""

import torch
from transformers import GPT2Config, GPT2LMHeadModel


class ScaleInput:
    """Multiplies the block's input hidden states by a constant."""

    def __init__(self, factor: float):
        self.factor = factor

    def __call__(self, module, args, kwargs):
        return (args[0] * self.factor, *args[1:]), kwargs


torch.manual_seed(0)
config = GPT2Config(vocab_size=99, n_embd=32, n_layer=2, n_head=4, n_positions=64)
model = GPT2LMHeadModel(config)
for block in model.transformer.h:
    block.register_forward_pre_hook(ScaleInput(0.5), with_kwargs=True)
