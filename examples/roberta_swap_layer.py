"""Swap one layer of a RoBERTa encoder for a subclass of ``RobertaLayer`` defined in this script.

Layer 1 of the encoder of a ``RobertaForSequenceClassification`` becomes a ``ScaledRobertaLayer``, whose
output is multiplied by a learnable per-channel scale (LayerScale, Touvron et al., 2021). The encoder
builds its layers with a list comprehension; the codemod keeps the comprehension and picks the class
per index.
"""

import argparse

import torch
from torch import nn
from transformers import RobertaConfig, RobertaForSequenceClassification
from transformers.models.roberta.modeling_roberta import RobertaLayer


class ScaledRobertaLayer(RobertaLayer):
    """A ``RobertaLayer`` whose feed-forward output is scaled channel-wise by a learnable vector."""

    def __init__(self, config: RobertaConfig, layer_idx: int | None = None, init_scale: float = 0.1):
        super().__init__(config, layer_idx=layer_idx)
        self.layer_scale = nn.Parameter(torch.full((config.hidden_size,), init_scale))

    def feed_forward_chunk(self, attention_output: torch.Tensor) -> torch.Tensor:
        return self.layer_scale * super().feed_forward_chunk(attention_output)


def roberta_config(size: str) -> RobertaConfig:
    """A roberta-base-sized configuration, or a tiny one with the same structure."""
    if size == "base":
        return RobertaConfig(vocab_size=50265, max_position_embeddings=514, type_vocab_size=1, num_labels=3)
    return RobertaConfig(
        vocab_size=99,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        max_position_embeddings=64,
        type_vocab_size=1,
        num_labels=3,
    )


parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--size", choices=["tiny", "base"], default="tiny")
args = parser.parse_args()

torch.manual_seed(0)
model = RobertaForSequenceClassification(roberta_config(args.size))
model.roberta.encoder.layer[1] = ScaledRobertaLayer(model.config, layer_idx=1, init_scale=0.5)

model.eval()
input_ids = torch.randint(3, model.config.vocab_size, (2, 8))
with torch.no_grad():
    logits = model(input_ids=input_ids).logits
assert logits.shape == (2, 3)
