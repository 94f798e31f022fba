"""PEFT (IA)^3: learned scaling vectors on BERT's key, value and feed-forward output."""

import torch
from peft import IA3Config, get_peft_model
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

ia3_config = IA3Config(
    task_type="SEQ_CLS", target_modules=["key", "value", "output.dense"], feedforward_modules=["output.dense"]
)
peft_model = get_peft_model(model, ia3_config)
