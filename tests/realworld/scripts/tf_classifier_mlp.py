"""The classification head of a RoBERTa classifier swapped for a two-layer MLP."""

import torch
from torch import nn
from transformers import RobertaConfig, RobertaForSequenceClassification

torch.manual_seed(0)
config = RobertaConfig(
    vocab_size=99,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    max_position_embeddings=64,
    num_labels=4,
)
model = RobertaForSequenceClassification(config)


class MLPHead(nn.Module):
    """Classifies from the first token through a hidden layer."""

    def __init__(self, hidden_size: int, num_labels: int, inner: int = 64, dropout: float = 0.1):
        super().__init__()
        self.num_labels = num_labels
        self.net = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(hidden_size, inner), nn.GELU(), nn.Linear(inner, num_labels)
        )

    def forward(self, features: torch.Tensor, **kwargs) -> torch.Tensor:
        return self.net(features[:, 0, :])


model.classifier = MLPHead(config.hidden_size, config.num_labels, inner=48)
