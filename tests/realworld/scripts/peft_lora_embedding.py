"""PEFT LoRA on BERT's word embeddings and attention (an `nn.Embedding` gets a LoRA layer too)."""

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
model = BertForSequenceClassification(config)

lora_config = LoraConfig(r=4, lora_alpha=8, target_modules=["word_embeddings", "query", "value"])
peft_model = get_peft_model(model, lora_config)
