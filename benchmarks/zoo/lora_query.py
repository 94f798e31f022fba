"""Wrap every attention query (or fused query/key/value) projection in a LoRA-style module."""

import re
import sys

import torch
from torch import nn
from transformers.pytorch_utils import Conv1D
from zoo_build import NotApplicableError, build

# Child names of attention modules that hold the query (or fused query/key/value) projection.
QUERY_NAME = re.compile(
    r"w?q|query|(q|query|qkv)_(proj|lin|linear)|to_q|q_a_proj|w?qkv|query_key_value|c_attn|in_proj",
    re.IGNORECASE,
)
ATTENTION_NAME = re.compile(r"attention|attn", re.IGNORECASE)


class LoRALinear(nn.Module):
    """A linear layer (``nn.Linear``, or GPT-2's transposed ``Conv1D``) plus a trainable low-rank update."""

    def __init__(self, base: nn.Module, r: int = 4, alpha: float = 8.0):
        super().__init__()
        in_features, out_features = (
            (base.nx, base.nf) if isinstance(base, Conv1D) else (base.in_features, base.out_features)
        )
        self.base = base
        self.lora_a = nn.Linear(in_features, r, bias=False)
        self.lora_b = nn.Linear(r, out_features, bias=False)
        self.scaling = alpha / r

    def forward(self, x):
        return self.base(x) + self.lora_b(self.lora_a(x)) * self.scaling


def query_projections(model: nn.Module) -> list[tuple[nn.Module, str, nn.Module]]:
    """(attention module, child name, child) for the query-like linear layer of each attention module."""
    found = []
    for name, module in list(model.named_modules()):
        own_name = name.rsplit(".", 1)[-1]
        if not (ATTENTION_NAME.search(type(module).__name__) or ATTENTION_NAME.search(own_name)):
            continue
        for child_name, child in module.named_children():
            if isinstance(child, (nn.Linear, Conv1D)) and QUERY_NAME.fullmatch(child_name):
                found.append((module, child_name, child))
                break
    return found


def modify(model: nn.Module) -> str:
    projections = query_projections(model)
    if not projections:
        raise NotApplicableError("no query linear in any attention module")
    for attention, child_name, query in projections:
        setattr(attention, child_name, LoRALinear(query, r=4, alpha=8.0))
    return f"{len(projections)} query projections wrapped"


if __name__ == "__main__":
    model = build(*sys.argv[1:])
    with torch.device("meta"):
        modify(model)
