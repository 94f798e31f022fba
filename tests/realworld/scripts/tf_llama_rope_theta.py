"""Longer context for a Llama causal LM: a new rotary embedding built from a copy of the config with a larger
rope base (``rope_theta``), put in place of the model's ``rotary_emb``."""

import copy

import torch
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

torch.manual_seed(0)
config = LlamaConfig(
    vocab_size=99,
    hidden_size=32,
    intermediate_size=37,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=64,
)
model = LlamaForCausalLM(config)

long_config = copy.deepcopy(model.config)
if getattr(long_config, "rope_parameters", None) is not None:  # transformers 5 keeps the base here
    long_config.rope_parameters["rope_theta"] = 500000.0
else:
    long_config.rope_theta = 500000.0
model.model.rotary_emb = LlamaRotaryEmbedding(config=long_config)
