"""A scaling wrapper whose class is defined inside a factory function (a closure), put around one GPT-2 MLP."""

import torch
from torch import nn
from transformers import GPT2Config, GPT2LMHeadModel


def scaled(module: nn.Module, factor: float) -> nn.Module:
    class Scaled(nn.Module):
        def __init__(self, inner: nn.Module) -> None:
            super().__init__()
            self.inner = inner
            self.factor = factor

        def forward(self, hidden: torch.Tensor) -> torch.Tensor:
            return self.inner(hidden) * self.factor

    return Scaled(module)


torch.manual_seed(0)
config = GPT2Config(vocab_size=99, n_embd=32, n_layer=2, n_head=4, n_positions=64)
model = GPT2LMHeadModel(config)

model.transformer.h[1].mlp = scaled(model.transformer.h[1].mlp, 0.5)
