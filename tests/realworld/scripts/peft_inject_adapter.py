"""PEFT's low-level API: inject LoRA layers into a model directly, without a PeftModel wrapper."""

import torch
from peft import LoraConfig, inject_adapter_in_model
from transformers import BertConfig, BertForMaskedLM

torch.manual_seed(0)
config = BertConfig(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37
)
model = BertForMaskedLM(config)

lora_config = LoraConfig(
    r=4, lora_alpha=8, target_modules=["query", "value", "dense"], init_lora_weights=False
)
model = inject_adapter_in_model(lora_config, model)
