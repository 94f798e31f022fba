"""Replace the word embeddings of a RoBERTa masked language model by a factorised embedding matrix.

This is ArchIt's own example: ``model.roberta.embeddings.word_embeddings = CoolNewEmbeddingMatrix(...)``
gives a model that exists in memory but that no class declares. Running

    python -m archit_codemod examples/roberta_word_embeddings.py

prints the three classes that declare it: ``RobertaEmbeddingsModified``, ``RobertaModelModified`` and
``RobertaForMaskedLMModified``. ``--size base`` builds a roberta-base-sized model instead of a tiny one.
"""

import argparse

import torch
from torch import nn
from transformers import RobertaConfig, RobertaForMaskedLM


class CoolNewEmbeddingMatrix(nn.Module):
    """A factorised word embedding (as in ALBERT): a narrow lookup table, then a linear up-projection."""

    def __init__(self, config: RobertaConfig, bottleneck_size: int = 128):
        super().__init__()
        self.lookup = nn.Embedding(config.vocab_size, bottleneck_size, padding_idx=config.pad_token_id)
        self.up_projection = nn.Linear(bottleneck_size, config.hidden_size, bias=False)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.up_projection(self.lookup(input_ids))


def roberta_config(size: str) -> RobertaConfig:
    """A roberta-base-sized configuration, or a tiny one with the same structure."""
    if size == "base":
        return RobertaConfig(
            vocab_size=50265,
            hidden_size=768,
            num_hidden_layers=12,
            num_attention_heads=12,
            intermediate_size=3072,
            max_position_embeddings=514,
            type_vocab_size=1,
        )
    return RobertaConfig(
        vocab_size=99,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        max_position_embeddings=64,
        type_vocab_size=1,
    )


parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--size", choices=["tiny", "base"], default="tiny")
args = parser.parse_args()

torch.manual_seed(0)
model = RobertaForMaskedLM(roberta_config(args.size))
model.roberta.embeddings.word_embeddings = CoolNewEmbeddingMatrix(model.config, bottleneck_size=16)

# The modified model runs: one masked-LM forward pass on a short random batch.
model.eval()
input_ids = torch.randint(3, model.config.vocab_size, (2, 8))
with torch.no_grad():
    logits = model(input_ids=input_ids).logits
assert logits.shape == (2, 8, model.config.vocab_size)
