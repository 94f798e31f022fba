"""PEFT LoRA on the fused expert weights of a Mixtral causal LM (transformers 5 stores each layer's experts as
3-D parameters of one module): ``target_parameters``, beside ``q_proj``."""

import torch
from peft import LoraConfig, get_peft_model
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
lora_config = LoraConfig(
    r=4, lora_alpha=8, target_modules=["q_proj"], target_parameters=["mlp.experts.gate_up_proj"]
)
peft_model = get_peft_model(model, lora_config)
