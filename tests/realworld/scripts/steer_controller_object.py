"""Activation steering with a controller object: a plain Python object (not a module) holding a direction
and a strength is set on a GPT-2 block, and a forward hook of the script reads it from the block."""

import torch
from transformers import GPT2Config, GPT2LMHeadModel


class SteeringController:
    """A direction (drawn from a seed) and a strength, read by the hook at every forward."""

    def __init__(self, dim: int, alpha: float, seed: int = 0):
        generator = torch.Generator().manual_seed(seed)
        direction = torch.randn(dim, generator=generator)
        self.direction = direction / direction.norm()
        self.alpha = alpha

    def steer(self, hidden_states):
        return hidden_states + self.alpha * self.direction.to(hidden_states.dtype)


def apply_controller(module, inputs, output):
    hidden_states = output[0] if isinstance(output, tuple) else output
    steered = module.controller.steer(hidden_states)
    return (steered, *output[1:]) if isinstance(output, tuple) else steered


torch.manual_seed(0)
config = GPT2Config(vocab_size=99, n_embd=32, n_layer=2, n_head=4, n_positions=64)
model = GPT2LMHeadModel(config)
block = model.transformer.h[1]
block.controller = SteeringController(config.n_embd, alpha=4.0, seed=7)
block.register_forward_hook(apply_controller)

example_inputs = {"input_ids": torch.tensor([[1, 5, 7, 9, 2]])}
