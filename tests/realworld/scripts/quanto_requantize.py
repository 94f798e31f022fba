"""optimum-quanto's reload path: a quantized, frozen model's `state_dict` and `quantization_map` applied to a
fresh model with `requantize`, as quanto's README shows for serialization."""

import torch
from optimum.quanto import freeze, qint8, quantization_map, quantize, requantize
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
quantized = LlamaForCausalLM(config)
quantize(quantized, weights=qint8, exclude="lm_head")
freeze(quantized)
state_dict = quantized.state_dict()
qmap = quantization_map(quantized)
del quantized

model = LlamaForCausalLM(config)
requantize(model, state_dict, qmap, device=torch.device("cpu"))

example_inputs = {"input_ids": torch.tensor([[1, 5, 7, 9, 2]])}
