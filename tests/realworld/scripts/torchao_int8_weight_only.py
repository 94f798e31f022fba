"""torchao weight-only int8 quantization (`quantize_(model, Int8WeightOnlyConfig())`) of a Llama's linear layers."""

import torch
from torchao.quantization import Int8WeightOnlyConfig, quantize_
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
quantize_(model.model.layers, Int8WeightOnlyConfig())
