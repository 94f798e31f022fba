"""Input embeddings replaced by a frozen ``nn.Embedding.from_pretrained`` of precomputed vectors."""

import torch
from torch import nn
from transformers import BertConfig, BertModel

torch.manual_seed(0)
config = BertConfig(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37
)
model = BertModel(config)

vectors = torch.randn(config.vocab_size, config.hidden_size)  # e.g. word2vec vectors for the vocabulary
model.set_input_embeddings(nn.Embedding.from_pretrained(vectors, freeze=True, padding_idx=0))
