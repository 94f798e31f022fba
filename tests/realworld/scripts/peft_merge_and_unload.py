"""PEFT LoRA merged back into the base weights: the result is a plain BERT again."""

import torch
from peft import LoraConfig, get_peft_model
from transformers import BertConfig, BertForSequenceClassification

torch.manual_seed(0)
config = BertConfig(
    vocab_size=99,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    num_labels=3,
)
base = BertForSequenceClassification(config)
peft_model = get_peft_model(base, LoraConfig(r=4, target_modules=["query", "value"], init_lora_weights=False))
# ... fine-tune ...
model = peft_model.merge_and_unload()
