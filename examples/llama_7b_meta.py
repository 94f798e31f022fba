"""Put LoRA adapters on ``q_proj``/``v_proj`` of a Llama-7B-sized model built on the ``meta`` device.

Building on ``meta`` allocates no weights, so this script runs in seconds and a few hundred megabytes
whatever the model's size; it is the benchmark for the codemod's own cost
(``benchmarks/bench_declaration.py``). ``--size tiny`` builds the same structure at test size.
"""

import argparse

import torch
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM


class LoRALinear(nn.Module):
    """``base(x) + (alpha / r) * lora_B(lora_A(x))``: a low-rank update beside a linear layer."""

    def __init__(self, base: nn.Linear, r: int = 8, alpha: float = 16):
        super().__init__()
        self.base = base
        self.lora_A = nn.Linear(base.in_features, r, bias=False)
        self.lora_B = nn.Linear(r, base.out_features, bias=False)
        self.scaling = alpha / r

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.base(hidden_states) + self.scaling * self.lora_B(self.lora_A(hidden_states))


def llama_config(size: str, layers: int) -> LlamaConfig:
    """The Llama-2-7B configuration (``layers`` decoder layers), or a tiny one with the same structure."""
    if size == "7b":
        return LlamaConfig(
            vocab_size=32000,
            hidden_size=4096,
            intermediate_size=11008,
            num_hidden_layers=layers,
            num_attention_heads=32,
            num_key_value_heads=32,
            max_position_embeddings=4096,
        )
    return LlamaConfig(
        vocab_size=99,
        hidden_size=32,
        intermediate_size=37,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=64,
    )


parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--size", choices=["tiny", "7b"], default="7b")
parser.add_argument("--device", default="meta", help="where to build the model (default: meta)")
parser.add_argument("--layers", type=int, default=32, help="decoder layers of the 7b size (default: 32)")
args = parser.parse_args()

with torch.device(args.device):
    model = LlamaForCausalLM(llama_config(args.size, args.layers))
    for layer in model.model.layers:
        layer.self_attn.q_proj = LoRALinear(layer.self_attn.q_proj, r=16, alpha=32)
        layer.self_attn.v_proj = LoRALinear(layer.self_attn.v_proj, r=16, alpha=32)

parameters = sum(parameter.numel() for parameter in model.parameters())
assert args.size != "7b" or args.layers != 32 or parameters > 6_000_000_000
