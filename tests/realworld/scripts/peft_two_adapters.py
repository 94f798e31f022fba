"""Two PEFT LoRA adapters on one BART model (`add_adapter`), the second one active."""

import torch
from peft import LoraConfig, get_peft_model
from transformers import BartConfig, BartForConditionalGeneration

torch.manual_seed(0)
config = BartConfig(
    vocab_size=99,
    d_model=32,
    encoder_layers=2,
    decoder_layers=2,
    encoder_attention_heads=4,
    decoder_attention_heads=4,
    encoder_ffn_dim=37,
    decoder_ffn_dim=37,
    max_position_embeddings=64,
)
model = BartForConditionalGeneration(config)

peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
peft_model.add_adapter("summaries", LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj", "k_proj"]))
peft_model.set_adapter("summaries")
