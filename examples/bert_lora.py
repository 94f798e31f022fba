"""Wrap the query and value projections of every BERT attention layer in a LoRA adapter.

``LoRALinear`` (defined below) keeps the original ``nn.Linear`` and adds a trainable low-rank update
``(alpha / r) * B(A(x))``. The wrappers are assigned in a ``for`` loop over the layers of a
``BertForSequenceClassification``; the codemod declares this as one ``BertSelfAttention`` subclass whose
``query`` and ``value`` are ``LoRALinear(<the original nn.Linear>, r=8, alpha=16)``, not one class per layer.
"""

import argparse

import torch
from torch import nn
from transformers import BertConfig, BertForSequenceClassification


class LoRALinear(nn.Module):
    """``base(x) + (alpha / r) * lora_B(lora_A(dropout(x)))``: a low-rank update beside a linear layer."""

    def __init__(self, base: nn.Linear, r: int = 8, alpha: float = 16, dropout: float = 0.0):
        super().__init__()
        self.base = base
        self.lora_A = nn.Linear(base.in_features, r, bias=False)
        self.lora_B = nn.Linear(r, base.out_features, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.scaling = alpha / r
        # Zero B: a freshly wrapped layer computes exactly what the base layer computes.
        nn.init.zeros_(self.lora_B.weight)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        update = self.lora_B(self.lora_A(self.dropout(hidden_states)))
        return self.base(hidden_states) + self.scaling * update


def bert_config(size: str) -> BertConfig:
    """A bert-base-sized configuration, or a tiny one with the same structure."""
    if size == "base":
        return BertConfig(num_labels=3)
    return BertConfig(
        vocab_size=99,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        max_position_embeddings=64,
        num_labels=3,
    )


parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--size", choices=["tiny", "base"], default="tiny")
args = parser.parse_args()

torch.manual_seed(0)
model = BertForSequenceClassification(bert_config(args.size))
model.requires_grad_(False)
for layer in model.bert.encoder.layer:
    attention = layer.attention.self
    attention.query = LoRALinear(attention.query, r=8, alpha=16)
    attention.value = LoRALinear(attention.value, r=8, alpha=16)

# Stand-in for fine-tuning: give the adapters non-zero updates so the model differs from plain BERT.
for name, parameter in model.named_parameters():
    if "lora_B" in name:
        nn.init.normal_(parameter, std=0.02)

model.eval()
input_ids = torch.randint(1, model.config.vocab_size, (2, 8))
with torch.no_grad():
    logits = model(input_ids=input_ids).logits
assert logits.shape == (2, 3)
