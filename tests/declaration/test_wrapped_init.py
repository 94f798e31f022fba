"""A class whose ``__init__`` a class decorator wrapped is declared with that decorator.

transformers' ``@use_experts_implementation(...)`` replaces an experts class's ``__init__`` by a wrapper that runs
it, then sets ``config``, ``has_bias`` and more. A generated subclass re-declares ``__init__``: undecorated, it
would not set them (MuseSpark's experts, whose ``post_expert_norm`` a norm swap changes). In vendor mode the class
keeps its decorator where it is.
"""

from __future__ import annotations

from output_support import declared, file_of, rebuilt_root

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
