"""Remove the pooler of a ``BertModel`` by setting it to ``None``.

``BertModel.forward`` already handles ``self.pooler is None`` (it then returns no ``pooler_output``),
so the model still runs; the codemod declares ``self.pooler = None`` in a ``BertModel`` subclass.
"""

import argparse

import torch
from transformers import BertConfig, BertModel


def bert_config(size: str) -> BertConfig:
    """A bert-base-sized configuration, or a tiny one with the same structure."""
    if size == "base":
        return BertConfig()
    return BertConfig(
        vocab_size=99,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        max_position_embeddings=64,
    )


parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--size", choices=["tiny", "base"], default="tiny")
args = parser.parse_args()

torch.manual_seed(0)
model = BertModel(bert_config(args.size))
model.pooler = None

model.eval()
input_ids = torch.randint(1, model.config.vocab_size, (2, 8))
with torch.no_grad():
    outputs = model(input_ids=input_ids)
assert outputs.pooler_output is None
assert outputs.last_hidden_state.shape == (2, 8, model.config.hidden_size)
