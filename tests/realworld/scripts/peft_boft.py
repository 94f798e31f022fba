"""PEFT BOFT (butterfly orthogonal fine-tuning) on BERT's attention projections."""

import torch
from peft import BOFTConfig, get_peft_model
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

boft_config = BOFTConfig(boft_block_size=4, boft_n_butterfly_factor=2, target_modules=["query", "value"])
peft_model = get_peft_model(model, boft_config)
