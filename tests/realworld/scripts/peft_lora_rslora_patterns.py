"""PEFT LoRA on a Llama causal LM with rank-stabilised scaling and per-module ranks and alphas
(`use_rslora`, `rank_pattern`, `alpha_pattern`)."""

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
    target_modules=["q_proj", "v_proj", "down_proj"],
    use_rslora=True,
    rank_pattern={"down_proj": 2},
    alpha_pattern={"v_proj": 16},
    lora_dropout=0.1,
)
peft_model = get_peft_model(model, lora_config)
