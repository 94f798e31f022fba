"""optimum-quanto: int4 weights for every Linear of a Mistral causal LM but the head (``exclude="lm_head"``)."""

import torch
from optimum.quanto import qint4, quantize
from transformers import MistralConfig, MistralForCausalLM

torch.manual_seed(0)
config = MistralConfig(
    vocab_size=99,
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=64,
)
model = MistralForCausalLM(config)
quantize(model, weights=qint4, exclude="lm_head")
