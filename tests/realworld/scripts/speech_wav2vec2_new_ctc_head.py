"""Wav2Vec2 fine-tuning for CTC on a new alphabet: the feature encoder frozen (`freeze_feature_encoder()`) and
the CTC head replaced by one sized for the new tokenizer's vocabulary."""

import torch
from torch import nn
from transformers import Wav2Vec2Config, Wav2Vec2ForCTC

torch.manual_seed(0)
config = Wav2Vec2Config(
    vocab_size=32,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    conv_dim=(16, 16),
    conv_stride=(5, 2),
    conv_kernel=(10, 3),
    num_conv_pos_embeddings=16,
    num_conv_pos_embedding_groups=2,
)
model = Wav2Vec2ForCTC(config)
model.freeze_feature_encoder()
new_vocabulary_size = 40
model.lm_head = nn.Linear(model.config.hidden_size, new_vocabulary_size)

example_inputs = {"input_values": torch.randn(2, 400)}
