"""PEFT MiSS (the successor of Bone) on the MLP projections of a Llama causal LM."""

import torch
from peft import MissConfig, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM

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

peft_model = get_peft_model(model, MissConfig(r=4, target_modules=["gate_proj", "up_proj"]))
