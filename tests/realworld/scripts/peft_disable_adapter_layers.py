"""PEFT LoRA on a BERT classifier, then switched off with ``disable_adapter_layers()`` (for a baseline
evaluation)."""

import torch
from peft import LoraConfig, TaskType, get_peft_model
from transformers import BertConfig, BertForSequenceClassification

torch.manual_seed(0)
config = BertConfig(
    vocab_size=99,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    num_labels=2,
)
model = BertForSequenceClassification(config)

peft_model = get_peft_model(
    model, LoraConfig(task_type=TaskType.SEQ_CLS, r=4, lora_alpha=8, target_modules=["query", "value"])
)
peft_model.base_model.disable_adapter_layers()
