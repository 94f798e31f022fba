"""A RoBERTa masked LM extended to longer inputs (as Longformer conversions do): a larger position embedding
with the old rows copied, the ``position_ids`` and ``token_type_ids`` buffers and the config updated."""

import torch
from torch import nn
from transformers import RobertaConfig, RobertaForMaskedLM

torch.manual_seed(0)
config = RobertaConfig(
    vocab_size=99,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    max_position_embeddings=34,
)
model = RobertaForMaskedLM(config)

embeddings = model.roberta.embeddings
old = embeddings.position_embeddings
longer = nn.Embedding(66, config.hidden_size, padding_idx=old.padding_idx)
with torch.no_grad():
    longer.weight[: old.num_embeddings] = old.weight
embeddings.position_embeddings = longer
embeddings.position_ids = torch.arange(66).expand((1, -1))
embeddings.token_type_ids = torch.zeros((1, 66), dtype=torch.long)
model.config.max_position_embeddings = 66
