"""A BART model whose shared token embedding is replaced through ``set_input_embeddings`` by one with another
padding index."""

import torch
from torch import nn
from transformers import BartConfig, BartModel

torch.manual_seed(0)
config = BartConfig(
    vocab_size=99,
    d_model=32,
    encoder_layers=2,
    decoder_layers=2,
    encoder_attention_heads=4,
    decoder_attention_heads=4,
    encoder_ffn_dim=37,
    decoder_ffn_dim=37,
    max_position_embeddings=64,
)
model = BartModel(config)
model.set_input_embeddings(nn.Embedding(config.vocab_size, config.d_model, padding_idx=0))

example_inputs = {"input_ids": torch.tensor([[0, 5, 6, 7, 2]])}
