"""Replace every ``LlamaRMSNorm`` of a Llama causal language model by an ``nn.LayerNorm``.

The script walks ``named_modules()`` and sets each replacement on the parent module with ``setattr``:
the per-layer ``input_layernorm``/``post_attention_layernorm`` and the final ``model.norm``. The codemod
declares it as subclasses of ``LlamaDecoderLayer``, ``LlamaModel`` and ``LlamaForCausalLM``.
"""

import argparse

import torch
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.models.llama.modeling_llama import LlamaRMSNorm


def llama_config(size: str) -> LlamaConfig:
    """A small Llama configuration (``--size base``: 12 layers of width 768), or a tiny one."""
    if size == "base":
        return LlamaConfig(
            vocab_size=32000,
            hidden_size=768,
            intermediate_size=2048,
            num_hidden_layers=12,
            num_attention_heads=12,
            num_key_value_heads=12,
        )
    return LlamaConfig(
        vocab_size=99,
        hidden_size=32,
        intermediate_size=37,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
    )


parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--size", choices=["tiny", "base"], default="tiny")
args = parser.parse_args()

torch.manual_seed(0)
model = LlamaForCausalLM(llama_config(args.size))
# list(): the loop changes the module tree that named_modules() walks.
for name, module in list(model.named_modules()):
    if isinstance(module, LlamaRMSNorm):
        parent_name, _, child_name = name.rpartition(".")
        layer_norm = nn.LayerNorm(module.weight.shape[0], eps=module.variance_epsilon)
        setattr(model.get_submodule(parent_name), child_name, layer_norm)

model.eval()
input_ids = torch.randint(0, model.config.vocab_size, (2, 8))
with torch.no_grad():
    logits = model(input_ids=input_ids).logits
assert logits.shape == (2, 8, model.config.vocab_size)
