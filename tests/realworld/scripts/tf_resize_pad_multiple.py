"""`resize_token_embeddings` to new tokens with `pad_to_multiple_of=64`, on a tied Llama."""

import torch
from transformers import LlamaConfig, LlamaForCausalLM

torch.manual_seed(0)
config = LlamaConfig(
    vocab_size=99,
    hidden_size=32,
    intermediate_size=37,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=64,
    tie_word_embeddings=True,
)
model = LlamaForCausalLM(config)
model.resize_token_embeddings(103, pad_to_multiple_of=64)
