"""A persistent buffer holding a computed steering direction (the mean difference of two random activation
batches, normalised) registered on a Llama decoder layer, which a forward hook of the script adds to the
layer's output."""

import torch
from transformers import LlamaConfig, LlamaForCausalLM


def add_steering(module, inputs, output):
    hidden_states = output[0] if isinstance(output, tuple) else output
    steered = hidden_states + 4.0 * module.steering_direction
    return (steered, *output[1:]) if isinstance(output, tuple) else steered


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
positive, negative = torch.randn(16, config.hidden_size), torch.randn(16, config.hidden_size)
direction = positive.mean(0) - negative.mean(0)
layer = model.model.layers[0]
layer.register_buffer("steering_direction", direction / direction.norm())
layer.register_forward_hook(add_steering)

example_inputs = {"input_ids": torch.tensor([[1, 5, 7, 9, 2]])}
