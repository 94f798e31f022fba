"""PEFT AdaLoRA (adaptive-rank LoRA) on a BERT classifier, set up for a 100-step training run."""

import torch
from peft import AdaLoraConfig, get_peft_model
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

adalora_config = AdaLoraConfig(
    task_type="SEQ_CLS",
    init_r=6,
    target_r=2,
    tinit=10,
    tfinal=20,
    total_step=100,
    target_modules=["query", "value"],
)
peft_model = get_peft_model(model, adalora_config)
