"""PEFT: two LoRA adapters combined with `add_weighted_adapter`, the combination made active."""

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

peft_model = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
peft_model.add_adapter("second", LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
peft_model.add_weighted_adapter(["default", "second"], [0.7, 0.3], "combined", combination_type="linear")
peft_model.set_adapter("combined")
