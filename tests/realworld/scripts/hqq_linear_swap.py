"""HQQ: the MLP projections of a Llama quantized to 4 bits with `HQQLinear` (half-quadratic quantization, no
calibration data), swapped in place, as hqq's README shows for custom models."""

import torch
from hqq.core.quantize import BaseQuantizeConfig, HQQLinear
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
quant_config = BaseQuantizeConfig(nbits=4, group_size=16)
for layer in model.model.layers:
    for name in ("gate_proj", "up_proj", "down_proj"):
        linear = getattr(layer.mlp, name)
        setattr(
            layer.mlp,
            name,
            HQQLinear(
                linear, quant_config=quant_config, compute_dtype=torch.float32, device="cpu", del_orig=True
            ),
        )

example_inputs = {"input_ids": torch.tensor([[1, 5, 7, 9, 2]])}
