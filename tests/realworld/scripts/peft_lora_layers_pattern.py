"""PEFT LoRA on a Llama causal LM's MLP projections in its last layer only (``layers_to_transform`` with
``layers_pattern``)."""

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
lora_config = LoraConfig(
    r=4,
    lora_alpha=8,
    target_modules=["gate_proj", "up_proj", "down_proj"],
    layers_to_transform=[1],
    layers_pattern="layers",
)
peft_model = get_peft_model(model, lora_config)
