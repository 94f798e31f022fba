"""optimum-quanto: int8 weights for every Linear of a Llama causal LM (quantized, not frozen)."""

import torch
from optimum.quanto import qint8, quantize
from transformers import LlamaConfig, LlamaForCausalLM

torch.manual_seed(0)
config = LlamaConfig(
    vocab_size=99,
    hidden_size=32,
    intermediate_size=37,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=64,
)
model = LlamaForCausalLM(config)
quantize(model, weights=qint8, exclude="lm_head")
