"""A ViT image classifier with a new 3-class head and LoRA on its attention (the recipe of PEFT's docs)."""

import torch
from peft import LoraConfig, get_peft_model
from torch import nn
from transformers import ViTConfig, ViTForImageClassification

torch.manual_seed(0)
config = ViTConfig(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    image_size=16,
    patch_size=4,
    num_labels=10,
)
model = ViTForImageClassification(config)
model.classifier = nn.Linear(config.hidden_size, 3)

# ViT's attention projections are query/value before transformers 5, q_proj/v_proj since.
attention_projections = ["query", "value", "q_proj", "v_proj"]
lora_config = LoraConfig(
    r=4, lora_alpha=8, target_modules=attention_projections, modules_to_save=["classifier"]
)
peft_model = get_peft_model(model, lora_config)

example_inputs = {"pixel_values": torch.randn(2, 3, 16, 16)}
