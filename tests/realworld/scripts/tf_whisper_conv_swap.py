"""A Whisper model whose encoder's first convolution gets a wider kernel (5 instead of 3, padding 2)."""

import torch
from torch import nn
from transformers import WhisperConfig, WhisperModel

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
    num_mel_bins=8,
    max_source_positions=16,
    max_target_positions=16,
    pad_token_id=0,
    bos_token_id=1,
    eos_token_id=2,
    decoder_start_token_id=1,
)
model = WhisperModel(config)
model.encoder.conv1 = nn.Conv1d(config.num_mel_bins, config.d_model, kernel_size=5, padding=2)

example_inputs = {
    "input_features": torch.randn(1, 8, 32),
    "decoder_input_ids": torch.tensor([[1, 2, 3]]),
}
