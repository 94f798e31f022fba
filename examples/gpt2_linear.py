"""Replace every ``Conv1D`` of GPT-2 by an ``nn.Linear`` that computes the same function.

GPT-2 stores its projections as ``Conv1D`` (a linear layer with a transposed weight). The script swaps
each of them (attention ``c_attn``/``c_proj``, MLP ``c_fc``/``c_proj``) for an ``nn.Linear`` with the
weight copied transposed, so the model's outputs do not change. The codemod declares subclasses of
``GPT2Attention``, ``GPT2MLP``, ``GPT2Block``, ``GPT2Model`` and ``GPT2LMHeadModel``.
"""

import argparse

import torch
from torch import nn
from transformers import GPT2Config, GPT2LMHeadModel
from transformers.pytorch_utils import Conv1D


def linear_from_conv1d(conv: Conv1D) -> nn.Linear:
    """An ``nn.Linear`` computing what ``conv`` computes (``Conv1D`` keeps its weight as in x out)."""
    in_features, out_features = conv.weight.shape
    linear = nn.Linear(in_features, out_features)
    with torch.no_grad():
        linear.weight.copy_(conv.weight.T)
        linear.bias.copy_(conv.bias)
    return linear


def gpt2_config(size: str) -> GPT2Config:
    """A gpt2-sized configuration (124M parameters), or a tiny one with the same structure."""
    if size == "base":
        return GPT2Config()
    return GPT2Config(
        vocab_size=99, n_positions=64, n_embd=32, n_layer=2, n_head=4, bos_token_id=98, eos_token_id=98
    )


parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--size", choices=["tiny", "base"], default="tiny")
args = parser.parse_args()

torch.manual_seed(0)
model = GPT2LMHeadModel(gpt2_config(args.size))
model.eval()
input_ids = torch.randint(0, model.config.vocab_size, (2, 8))
with torch.no_grad():
    logits_before = model(input_ids=input_ids).logits

for block in model.transformer.h:
    block.attn.c_attn = linear_from_conv1d(block.attn.c_attn)
    block.attn.c_proj = linear_from_conv1d(block.attn.c_proj)
    block.mlp.c_fc = linear_from_conv1d(block.mlp.c_fc)
    block.mlp.c_proj = linear_from_conv1d(block.mlp.c_proj)

with torch.no_grad():
    logits_after = model(input_ids=input_ids).logits
torch.testing.assert_close(logits_after, logits_before)
