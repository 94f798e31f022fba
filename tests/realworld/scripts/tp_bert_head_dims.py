"""Torch-Pruning: structured pruning of a BERT (half of each head's dimensions and of the feed-forward width),
which shrinks Linear layers and LayerNorms in place, then the attention modules' sizes set to match, as
Torch-Pruning's Hugging Face BERT example does."""

import torch
import torch_pruning as tp
from transformers import BertConfig, BertModel
from transformers.models.bert.modeling_bert import BertSelfAttention

torch.manual_seed(0)
config = BertConfig(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64
)
model = BertModel(config)
model.eval()
example_inputs = {"input_ids": torch.randint(0, 99, (1, 8))}

num_heads = {}
for module in model.modules():
    if isinstance(module, BertSelfAttention):
        num_heads[module.query] = module.num_attention_heads
        num_heads[module.key] = module.num_attention_heads
        num_heads[module.value] = module.num_attention_heads

pruner = tp.pruner.MetaPruner(
    model,
    example_inputs,
    importance=tp.importance.MagnitudeImportance(p=2, group_reduction="mean"),
    pruning_ratio=0.5,
    ignored_layers=[model.pooler, model.embeddings],
    output_transform=lambda out: out.last_hidden_state.sum(),
    num_heads=num_heads,
    prune_head_dims=True,
    prune_num_heads=False,
)
for group in pruner.step(interactive=True):
    group.prune()

for module in model.modules():
    if isinstance(module, BertSelfAttention):
        module.attention_head_size = module.query.out_features // module.num_attention_heads
        module.all_head_size = module.query.out_features
