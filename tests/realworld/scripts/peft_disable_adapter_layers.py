"""PEFT LoRA on a Qwen2 causal LM, then switched off with ``disable_adapter_layers()`` (for a baseline
evaluation): the LoRA layers stay, their adapters off."""

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

peft_model = get_peft_model(
    model, LoraConfig(task_type="CAUSAL_LM", r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"])
)
peft_model.base_model.disable_adapter_layers()
