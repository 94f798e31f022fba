"""``module.__class__ = Subclass``: the feed-forward block of every BERT layer gets a clamped variant."""

import torch
from transformers import BertConfig, BertModel
from transformers.models.bert.modeling_bert import BertIntermediate


class ClampedIntermediate(BertIntermediate):
    """BERT's intermediate block with its activations clamped, for fp16-friendly ranges."""

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return super().forward(hidden_states).clamp(min=-0.05, max=0.05)


torch.manual_seed(0)
config = BertConfig(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37
)
model = BertModel(config)

for layer in model.encoder.layer:
    layer.intermediate.__class__ = ClampedIntermediate
