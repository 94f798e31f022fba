"""steering-vectors: a steering vector added to the residual stream of a GPT-2's second block with
`SteeringVector.patch_activations(model, multiplier=...)`, left patched for generation (a forward hook whose
closure holds the vector)."""

import torch
from steering_vectors import SteeringVector
from transformers import GPT2Config, GPT2LMHeadModel

torch.manual_seed(0)
config = GPT2Config(vocab_size=99, n_embd=32, n_layer=2, n_head=4, n_positions=64)
model = GPT2LMHeadModel(config)
direction = torch.randn(config.n_embd)
steering_vector = SteeringVector(layer_activations={1: direction}, layer_type="decoder_block")
handle = steering_vector.patch_activations(model, multiplier=4.0)

example_inputs = {"input_ids": torch.tensor([[1, 5, 7, 9, 2]])}
