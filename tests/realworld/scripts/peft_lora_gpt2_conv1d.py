"""PEFT LoRA on GPT-2's fused `c_attn` and `c_proj` (transformers' `Conv1D`, `fan_in_fan_out=True`)."""

import torch
from peft import LoraConfig, get_peft_model
from transformers import GPT2Config, GPT2LMHeadModel

torch.manual_seed(0)
config = GPT2Config(vocab_size=99, n_embd=32, n_layer=2, n_head=4, n_positions=64)
model = GPT2LMHeadModel(config)

lora_config = LoraConfig(r=4, lora_alpha=8, target_modules=["c_attn", "c_proj"], fan_in_fan_out=True)
peft_model = get_peft_model(model, lora_config)
