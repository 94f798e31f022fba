"""A T5 model given a new, larger shared embedding through ``set_input_embeddings`` (the encoder and the decoder
both use it)."""

import torch
from torch import nn
from transformers import T5Config, T5ForConditionalGeneration

torch.manual_seed(0)
config = T5Config(
    vocab_size=99,
    d_model=32,
    d_kv=8,
    d_ff=37,
    num_layers=2,
    num_heads=4,
    decoder_start_token_id=0,
)
model = T5ForConditionalGeneration(config)

model.set_input_embeddings(nn.Embedding(99, 32))

example_inputs = {
    "input_ids": torch.tensor([[5, 6, 7, 1]]),
    "decoder_input_ids": torch.tensor([[0, 5, 6]]),
}
