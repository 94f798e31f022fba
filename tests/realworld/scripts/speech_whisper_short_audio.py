"""Whisper for short clips: the encoder's position table cut to the first 500 positions (weights kept), the
config and the encoder's own setting updated, as streaming and short-audio recipes do."""

import torch
from torch import nn
from transformers import WhisperConfig, WhisperForConditionalGeneration

torch.manual_seed(0)
config = WhisperConfig(
    vocab_size=99,
    d_model=32,
    encoder_layers=2,
    decoder_layers=2,
    encoder_attention_heads=4,
    decoder_attention_heads=4,
    encoder_ffn_dim=37,
    decoder_ffn_dim=37,
    num_mel_bins=16,
    max_source_positions=1500,
    max_target_positions=64,
    pad_token_id=0,
    bos_token_id=1,
    eos_token_id=2,
    decoder_start_token_id=1,
)
model = WhisperForConditionalGeneration(config)

new_positions = 500
encoder = model.model.encoder
old_table = encoder.embed_positions
encoder.embed_positions = nn.Embedding(new_positions, config.d_model)
encoder.embed_positions.weight.data.copy_(old_table.weight.data[:new_positions])
encoder.embed_positions.requires_grad_(False)
encoder.max_source_positions = new_positions
model.config.max_source_positions = new_positions

example_inputs = {
    "input_features": torch.randn(1, 16, 2 * new_positions),
    "decoder_input_ids": torch.tensor([[1, 5, 6]]),
}
