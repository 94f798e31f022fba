"""A class whose ``__init__`` a decorator wrapped is declared with that decorator, whatever its shape.

transformers' ``@use_experts_implementation(...)`` replaces an experts class's ``__init__`` by a wrapper that runs
it, then sets ``config``, ``has_bias`` and more. A generated subclass re-declares ``__init__``: undecorated, it
would not set them (MuseSpark's experts, whose ``post_expert_norm`` a norm swap changes). In vendor mode the class
keeps its decorator where it is.
"""

from __future__ import annotations

import pytest
import torch
from output_support import declared, file_of, rebuilt_root

from archit_codemod.declaration.api import generate
from archit_codemod.declaration.checking.completeness import roots_to_declare
from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.tracing.tracer import run_script

SCRIPT = """
import functools

import torch
from torch import nn


def with_settings(**settings):
    def wrap(cls):
        original = cls.__init__

        @functools.wraps(original)
        def __init__(self, *args, **kwargs):
            original(self, *args, **kwargs)
            for name, value in settings.items():
                setattr(self, name, value)

        cls.__init__ = __init__
        return cls

    return wrap


@with_settings(has_bias=False, scale=2.0)
class Experts(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.proj = nn.Linear(width, width)


class RMSNorm(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(width))


class Model(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.experts = Experts(width)


model = Model(4)
model.experts.norm = RMSNorm(4)
"""


def test_the_decorator_that_wrapped_init_wraps_the_generated_class_too(scripts, mode):
    script = scripts("wrapped_init.py", SCRIPT)
    trace, roots, output = declared(script, mode)

    experts = next(name for name in output.classes if name.startswith("Experts"))
    assert f"@with_settings(has_bias=False, scale=2.0)\nclass {experts}" in file_of(output, experts).text
    with rebuilt_root(output, trace, roots["model"]) as rebuilt:
        assert (rebuilt.experts.has_bias, rebuilt.experts.scale) == (False, 2.0)
        assert type(rebuilt.experts.norm).__name__ == "RMSNorm"


NO_WRAPS_SCRIPT = """
import torch
from torch import nn


def with_scale(scale):
    # As the kernels package's use_kernelized_func: no functools.wraps; the wrapper keeps the original in its
    # closure, adds per-instance state after it, and replaces forward by one that reads that state.
    def wrap(cls):
        original_init = cls.__init__
        original_forward = cls.forward

        def new_init(self, *args, **kwargs):
            original_init(self, *args, **kwargs)
            self.__dict__.setdefault("_scales", {})["out"] = scale

        def new_forward(self, *args, **kwargs):
            return original_forward(self, *args, **kwargs) * self._scales["out"]

        cls.__init__ = new_init
        cls.forward = new_forward
        return cls

    return wrap


@with_scale(3.0)
class Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.proj = nn.Linear(width, width)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.proj(x))


class Model(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.block = Block(width)

    def forward(self, x):
        return self.block(x)


model = Model(4)
model.block.act = nn.GELU()
"""


def test_a_class_decorator_without_wraps_is_followed_through_its_closure(scripts, mode):
    script = scripts("no_wraps.py", NO_WRAPS_SCRIPT)
    trace, roots, output = declared(script, mode)

    block = next(name for name in output.classes if name.startswith("Block"))
    assert f"@with_scale(3.0)\nclass {block}" in file_of(output, block).text
    with rebuilt_root(output, trace, roots["model"]) as rebuilt:
        assert type(rebuilt.block.act).__name__ == "GELU"
        assert rebuilt.block._scales == {"out": 3.0}
        rebuilt.load_state_dict(roots["model"].state_dict(), strict=True)
        x = torch.randn(2, 4)
        assert torch.equal(rebuilt(x), roots["model"](x))


LOST_ORIGINAL_SCRIPT = """
from torch import nn

_ORIGINALS = {}


def registered(cls):
    # The original is kept in a registry, out of the wrapper's reach: nothing leads back to it.
    _ORIGINALS[cls.__name__] = cls.__init__

    def new_init(self, *args, **kwargs):
        _ORIGINALS[type(self).__name__](self, *args, **kwargs)

    cls.__init__ = new_init
    return cls


@registered
class Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.act = nn.ReLU()


model = Block(4)
model.act = nn.GELU()
"""


def test_a_decorator_that_loses_the_original_init_is_refused_with_the_fix(scripts):
    script = scripts("lost.py", LOST_ORIGINAL_SCRIPT)
    trace = run_script(script)
    with pytest.raises(DeclarationError) as refused:
        generate(trace, roots_to_declare(trace))
    message = str(refused.value)
    assert "The __init__ of " in message and "Block runs " in message and "new_init" in message
    assert "Fix: make the decorator keep the original" in message


KERNELIZED_LLAMA_SCRIPT = """
import torch
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM


class LoRALinear(nn.Module):
    def __init__(self, base, r=4):
        super().__init__()
        self.base = base
        self.lora_A = nn.Linear(base.in_features, r, bias=False)
        self.lora_B = nn.Linear(r, base.out_features, bias=False)

    def forward(self, x):
        return self.base(x) + self.lora_B(self.lora_A(x))


torch.manual_seed(0)
config = LlamaConfig(
    vocab_size=99, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=2, max_position_embeddings=64,
)
model = LlamaForCausalLM(config).eval()
for layer in model.model.layers:
    layer.self_attn.q_proj = LoRALinear(layer.self_attn.q_proj)
"""


def test_lora_inside_attention_that_the_kernels_package_decorates(scripts, mode):
    # transformers 5.25 decorates LlamaAttention with kernels' use_kernelized_func (no functools.wraps): the
    # generated class must run the decorator's per-instance work, which its inherited forward reads.
    script = scripts("kernelized_llama.py", KERNELIZED_LLAMA_SCRIPT)
    trace, roots, output = declared(script, mode)
    traced = roots["model"]
    decorated = "_kernel_funcs" in vars(traced.model.layers[0].self_attn)

    attention = next(name for name in output.classes if name.startswith("LlamaAttention"))
    assert ("@use_kernelized_func(apply_rotary_pos_emb)" in file_of(output, attention).text) == decorated
    with rebuilt_root(output, trace, traced) as rebuilt:
        assert ("_kernel_funcs" in vars(rebuilt.model.layers[0].self_attn)) == decorated
        rebuilt.load_state_dict(traced.state_dict(), strict=True)
        rebuilt.eval()
        input_ids = torch.tensor([[1, 5, 7, 9, 11]])
        with torch.no_grad():
            assert torch.equal(rebuilt(input_ids).logits, traced(input_ids).logits)
