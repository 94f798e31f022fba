"""Upcycling one layer of a Mixtral causal LM: its sparse MoE block rebuilt from a copy of the config with eight
experts instead of four (transformers 5 keeps the block at ``mlp``, 4.x at ``block_sparse_moe``)."""

import copy

import torch
from transformers import MixtralConfig, MixtralForCausalLM

torch.manual_seed(0)
config = MixtralConfig(
    vocab_size=99,
    hidden_size=32,
    intermediate_size=40,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    num_local_experts=4,
    num_experts_per_tok=2,
    max_position_embeddings=64,
)
model = MixtralForCausalLM(config)

wide_config = copy.deepcopy(config)
wide_config.num_local_experts = 8
layer = model.model.layers[0]
block_name = "mlp" if hasattr(layer, "mlp") else "block_sparse_moe"
wide_block = type(getattr(layer, block_name))(wide_config)
with torch.no_grad():
    for parameter in wide_block.parameters():  # transformers 5 allocates expert weights uninitialised
        parameter.normal_(std=0.02)
setattr(layer, block_name, wide_block)
