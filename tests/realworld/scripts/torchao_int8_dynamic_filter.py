"""torchao: int8 dynamic-activation, int8-weight quantization of the MLP linears only (`quantize_` with a
`filter_fn` lambda), as torchao's README shows for selective quantization."""

import torch
from torch import nn
from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_
from transformers import LlamaConfig, LlamaForCausalLM

torch.manual_seed(0)
config = LlamaConfig(
    vocab_size=99,
    hidden_size=32,
    intermediate_size=48,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=64,
)
model = LlamaForCausalLM(config)
quantize_(
    model,
    Int8DynamicActivationInt8WeightConfig(),
    filter_fn=lambda module, fqn: isinstance(module, nn.Linear) and ".mlp." in fqn,
)

example_inputs = {"input_ids": torch.tensor([[1, 5, 7, 9, 2]])}
