"""Finding a class's ``__init__`` in its source, also when a decorator wraps it."""

from __future__ import annotations

import pytest
import torch

from archit_codemod.declaration.api import generate, verify
from archit_codemod.declaration.checking.verify import build_root, load_generated
from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.provenance import Provenance
from archit_codemod.declaration.tracing.roots import find_roots
from archit_codemod.declaration.tracing.tracer import run_script

DECORATED_BLOCK = """
import functools

from torch import nn


def logged(init):
    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.built_with = len(args)

    return wrapper


class Block(nn.Module):
    # The decorator's wrapper is defined above, at another line: locate must find this def.
    @logged
    def __init__(self, width):
        super().__init__()
        self.fc = nn.Linear(width, width)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.fc(x))
"""

MODIFY = """
model = Block(8)
model.act = nn.GELU()
"""


def _declare_and_rebuild(script, provenance=None):
    traced = run_script(script)
    roots = find_roots(traced)
    generated = generate(traced, roots, provenance=provenance)
    verify(generated, traced, roots)
    with load_generated(generated.source) as namespace:
        built = build_root(namespace, generated.root_classes["model"], roots["model"], traced)
    built.load_state_dict(roots["model"].state_dict(), strict=True)
    x = torch.randn(2, 8)
    assert torch.equal(built(x), roots["model"](x))
    return generated.source, built


def test_a_decorated_init_of_a_script_class_is_found(scripts):
    script = scripts("decorated.py", DECORATED_BLOCK + MODIFY)
    source, built = _declare_and_rebuild(script)
    assert "class BlockModified(Block):" in source
    # The copy keeps the decorator, so the generated __init__ is wrapped the same way.
    assert "    @logged\n    def __init__(self, width):\n" in source
    assert "        self.act = nn.GELU()\n" in source
    assert built.built_with == 1


def test_a_decorated_init_of_an_importable_class_is_found(scripts):
    scripts("decorated_blocks.py", DECORATED_BLOCK)
    script = scripts("modify.py", "from torch import nn\nfrom decorated_blocks import Block\n" + MODIFY)
    # Written beside the script, the output can import decorated_blocks (else it would copy Block).
    source, _ = _declare_and_rebuild(script, Provenance.for_output(script, script.parent))
    assert "from decorated_blocks import Block" in source
    assert "class BlockModified(Block):" in source and "        self.act = nn.GELU()\n" in source


def test_a_decorator_that_hides_the_init_is_named_with_the_fix(scripts):
    hidden = DECORATED_BLOCK.replace("    @functools.wraps(init)\n", "")
    script = scripts("hidden.py", hidden + MODIFY)
    traced = run_script(script)
    with pytest.raises(DeclarationError) as refused:
        generate(traced, find_roots(traced))
    message = str(refused.value)
    assert "The __init__ of Block is not the function written in its class body" in message
    assert "Fix: make the decorator keep the original (decorate its wrapper with functools.wraps" in message
    assert "file on disk" not in message
