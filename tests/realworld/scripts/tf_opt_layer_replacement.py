"""OPT: the second decoder layer replaced by a layer built from a config with a wider FFN."""

import copy

import torch
from transformers import OPTConfig, OPTForCausalLM
from transformers.models.opt.modeling_opt import OPTDecoderLayer

torch.manual_seed(0)
config = OPTConfig(
    vocab_size=99,
    hidden_size=32,
    num_hidden_layers=2,
    ffn_dim=37,
    num_attention_heads=4,
    max_position_embeddings=64,
    word_embed_proj_dim=32,
)
model = OPTForCausalLM(config)
wide = copy.deepcopy(config)
wide.ffn_dim = 64
model.model.decoder.layers[1] = OPTDecoderLayer(wide, layer_idx=1)
