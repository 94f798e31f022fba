"""New tokens added to the vocabulary: ``resize_token_embeddings`` (config.vocab_size follows)."""

import torch
from transformers import BertConfig, BertForMaskedLM

torch.manual_seed(0)
config = BertConfig(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37
)
model = BertForMaskedLM(config)

model.resize_token_embeddings(99 + 5, pad_to_multiple_of=8)
