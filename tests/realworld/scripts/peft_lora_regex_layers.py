"""PEFT LoRA on a Qwen2 causal LM, with `target_modules` given as a regular expression string that picks
layer 0's query, value and down projections."""

import torch
from peft import LoraConfig, get_peft_model
from transformers import Qwen2Config, Qwen2ForCausalLM

torch.manual_seed(0)
config = Qwen2Config(
    vocab_size=99,
    hidden_size=32,
    intermediate_size=37,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=64,
)
model = Qwen2ForCausalLM(config)

lora_config = LoraConfig(
    r=4,
    lora_alpha=8,
    target_modules=r"model\.layers\.0\.(self_attn\.(q_proj|v_proj)|mlp\.down_proj)",
    task_type="CAUSAL_LM",
)
peft_model = get_peft_model(model, lora_config)
