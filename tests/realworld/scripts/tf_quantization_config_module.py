"""A fake-quantized linear layer of the script's own that keeps the transformers `QuantoConfig` it was built
with and sizes its learnable codebook from it (4-bit weights: 16 levels), put into a Llama's MLPs."""

import torch
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM, QuantoConfig


class FakeQuantLinear(nn.Linear):
    def __init__(self, in_features, out_features, quantization_config, bias=False):
        super().__init__(in_features, out_features, bias=bias)
        self.quantization_config = quantization_config
        levels = 16 if quantization_config.weights == "int4" else 256
        self.codebook = nn.Parameter(torch.linspace(-1, 1, levels))

    def forward(self, x):
        scale = self.weight.abs().amax(dim=1, keepdim=True)
        normalized = self.weight / scale
        index = (normalized[..., None] - self.codebook).abs().argmin(dim=-1)
        quantized = self.codebook[index] * scale
        weight = self.weight + (quantized - self.weight).detach()
        return nn.functional.linear(x, weight, self.bias)


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
quantization_config = QuantoConfig(weights="int4", modules_to_not_convert=["lm_head"])
for layer in model.model.layers:
    mlp = layer.mlp
    mlp.down_proj = FakeQuantLinear(config.intermediate_size, config.hidden_size, quantization_config)

example_inputs = {"input_ids": torch.tensor([[1, 5, 7, 9, 2]])}
