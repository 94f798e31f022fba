"""PEFT LoRA initialised with PiSSA (`init_lora_weights="pissa"`): the base weights change to their residual."""

import torch
from peft import LoraConfig, get_peft_model
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

peft_model = get_peft_model(
    model, LoraConfig(r=4, lora_alpha=4, target_modules=["q_proj", "o_proj"], init_lora_weights="pissa")
)
