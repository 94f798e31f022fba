"""PEFT VeRA (shared random projections, trained scaling vectors) on a Llama causal LM."""

import torch
from peft import VeraConfig, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM

torch.manual_seed(0)
config = LlamaConfig(
    vocab_size=99,
    hidden_size=32,
    intermediate_size=37,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=4,
    max_position_embeddings=64,
)
model = LlamaForCausalLM(config)

peft_model = get_peft_model(
    model, VeraConfig(r=8, target_modules=["q_proj", "v_proj"], projection_prng_key=7)
)
