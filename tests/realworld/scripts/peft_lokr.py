"""PEFT LoKr (low-rank Kronecker product) on BERT's attention projections."""

import torch
from peft import LoKrConfig, get_peft_model
from transformers import BertConfig, BertModel

torch.manual_seed(0)
config = BertConfig(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37
)
model = BertModel(config)

peft_model = get_peft_model(model, LoKrConfig(r=4, alpha=8, target_modules=["query", "value"]))
