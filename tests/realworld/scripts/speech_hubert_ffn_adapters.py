"""HuBERT with bottleneck adapters (Houlsby-style) after every encoder layer's feed-forward, the base frozen,
as parameter-efficient speech fine-tuning recipes add them."""

import torch
from torch import nn
from transformers import HubertConfig, HubertForSequenceClassification


class FeedForwardWithAdapter(nn.Module):
    def __init__(self, feed_forward: nn.Module, hidden_size: int, bottleneck: int = 8):
        super().__init__()
        self.feed_forward = feed_forward
        self.down = nn.Linear(hidden_size, bottleneck)
        self.up = nn.Linear(bottleneck, hidden_size)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, hidden_states):
        hidden_states = self.feed_forward(hidden_states)
        return hidden_states + self.up(torch.relu(self.down(hidden_states)))


torch.manual_seed(0)
config = HubertConfig(
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
    num_labels=3,
)
model = HubertForSequenceClassification(config)
model.freeze_base_model()
for layer in model.hubert.encoder.layers:
    layer.feed_forward = FeedForwardWithAdapter(layer.feed_forward, config.hidden_size)

example_inputs = {"input_values": torch.randn(2, 400)}
