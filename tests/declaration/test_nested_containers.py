"""Changes inside a container nested in a container (Funnel's ``blocks``, a ModuleList of ModuleLists).

Funnel builds ``self.blocks = nn.ModuleList([nn.ModuleList([FunnelLayer(config, block_index) for _ in
range(block_size)]) for block_index, block_size in enumerate(config.block_sizes)])``. The inner comprehension is
rewritten inside the outer one's element: the same change everywhere swaps the layer class in place, a change of
one item picks per index at both levels.
"""

from __future__ import annotations

import ast

import pytest
import torch
from output_support import rebuilt_root

from archit_codemod.declaration.api import generate, verify
from archit_codemod.declaration.checking.completeness import roots_to_declare
from archit_codemod.declaration.checking.verify import build_root, load_output
from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.tracing.tracer import run_script

SCRIPT = """
import torch
from torch import nn
from transformers import FunnelConfig, FunnelForTokenClassification
from transformers.models.funnel.modeling_funnel import FunnelLayer


class RMSNorm(nn.Module):
    def __init__(self, hidden_size, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.eps = eps

    def forward(self, x):
        return x * (x.pow(2).mean(-1, keepdim=True) + self.eps).rsqrt() * self.weight


config = FunnelConfig(
    d_model=32, n_head=4, d_head=8, d_inner=37, block_sizes=[2, 2], num_decoder_layers=1, vocab_size=99
)
model = FunnelForTokenClassification(config)
for block in model.funnel.encoder.blocks:
    for layer in block:
        layer.attention.layer_norm = RMSNorm(32)
"""

ONE_ITEM = "model.funnel.encoder.blocks[1][1] = FunnelLayer(config, 0)\n"


def _declared(scripts, mode, source):
    trace = run_script(scripts("funnel_nested.py", source))
    roots = roots_to_declare(trace)
    output = generate(trace, roots, mode=mode)
    verify(output, trace, roots)
    return trace, roots, output


def _blocks_value(output) -> str:
    """The value ``self.blocks`` gets in the generated encoder's ``__init__``, unparsed by ``ast``."""
    for file in output.files:
        for node in ast.walk(ast.parse(file.text)):
            if isinstance(node, ast.ClassDef) and node.name == "FunnelEncoderModified":
                [init] = [n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"]
                [value] = [
                    s.value
                    for s in init.body
                    if isinstance(s, ast.Assign) and ast.unparse(s.targets[0]) == "self.blocks"
                ]
                return ast.unparse(value)
    raise AssertionError("no FunnelEncoderModified in the output")


def test_the_same_change_in_every_nested_item_swaps_the_class_inside(scripts, mode):
    trace, roots, output = _declared(scripts, mode, SCRIPT)

    assert _blocks_value(output) == (
        "nn.ModuleList([nn.ModuleList([FunnelLayerModified(config, block_index) for _ in range(block_size)]) "
        "for block_index, block_size in enumerate(config.block_sizes)])"
    )
    module_name, class_name = output.roots["model"]
    traced = roots["model"]
    with load_output(output) as package:
        built = build_root(package.module(module_name), class_name, traced, trace)
    built.load_state_dict(traced.state_dict(), strict=True)
    inputs = torch.tensor([[3, 4, 5, 6, 7, 8]])
    with torch.no_grad():
        assert torch.equal(built.eval()(inputs).logits, traced.eval()(inputs).logits)


def test_one_changed_nested_item_is_picked_by_both_indices(scripts, mode):
    _, roots, output = _declared(scripts, mode, SCRIPT + ONE_ITEM)

    # blocks[1][1] is the script's FunnelLayer(config, 0), with the original LayerNorm; every other layer has RMSNorm.
    assert _blocks_value(output) == (
        "nn.ModuleList([nn.ModuleList([FunnelLayer(config, 0) if index == 1 else "
        "FunnelLayerModified(config, block_index) for index in range(block_size)]) if block_index == 1 else "
        "nn.ModuleList([FunnelLayerModified(config, block_index) for _ in range(block_size)]) "
        "for block_index, block_size in enumerate(config.block_sizes)])"
    )
    assert type(roots["model"].funnel.encoder.blocks[1][1].attention.layer_norm) is torch.nn.LayerNorm


def test_a_nested_container_of_another_length_is_refused_naming_it(scripts, mode):
    trace = run_script(scripts("funnel_nested.py", SCRIPT + "del model.funnel.encoder.blocks[1][1]\n"))
    roots = roots_to_declare(trace)
    with pytest.raises(
        DeclarationError, match=r"funnel\.encoder\.blocks\.1: items were added to, deleted from"
    ):
        generate(trace, roots, mode=mode)


# Florence-2's vision backbone and Evolla's resampler build their nested lists with loops the container rewrite
# cannot follow (inner lists from a generator, appended to a local list; inner lists appended to the attribute
# itself). When each changed item's class has one generated class, and every module of that class the owner built
# is such an item, every call of the class in the __init__ is swapped, whatever builds the lists around it.
BUILT_BY_LOOPS = """
from torch import nn


class Attention(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.proj = nn.Linear(width, width)


class FeedForward(nn.Module):
    def __init__(self, width, mult=2):
        super().__init__()
        self.net = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, width * mult), nn.Linear(width * mult, width))


class Backbone(nn.Module):
    def __init__(self, widths=(4, 8)):
        super().__init__()
        blocks = []
        for width in widths:
            block = nn.ModuleList(Attention(width) for _ in range(2))
            blocks.append(block)
        self.blocks = nn.ModuleList(blocks)
        self.layers = nn.ModuleList([])
        for _ in range(2):
            self.layers.append(nn.ModuleList([Attention(8), FeedForward(8)]))
        self.head = nn.Linear(8, 2)


class RMSNorm(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(width))


import torch

model = Backbone()
for module in list(model.modules()):
    for name, child in list(module.named_children()):
        if isinstance(child, nn.LayerNorm):
            setattr(module, name, RMSNorm(child.normalized_shape[0]))
"""


def test_items_of_lists_built_by_loops_get_their_class_swapped_at_every_call(scripts, mode):
    trace, roots, output = _declared(scripts, mode, BUILT_BY_LOOPS)

    text = "".join(file.text for file in output.files)
    assert "block = nn.ModuleList((AttentionModified(width) for _ in range(2)))" in text or (
        "block = nn.ModuleList(AttentionModified(width) for _ in range(2))" in text
    )
    assert "self.layers.append(nn.ModuleList([AttentionModified(8), FeedForwardModified(8)]))" in text
    traced = roots["model"]
    with rebuilt_root(output, trace, traced) as rebuilt:
        assert [type(block[0]).__name__ for block in rebuilt.blocks] == [
            "AttentionModified",
            "AttentionModified",
        ]
        assert [block[0].proj.in_features for block in rebuilt.blocks] == [4, 8]
        assert type(rebuilt.layers[1][1].net[0]).__name__ == "RMSNorm"
        rebuilt.load_state_dict(traced.state_dict(), strict=True)


# LongT5's block appends `attention_layer(config, ...)`, a local alias of the class, and `LongT5LayerCrossAttention(...)`
# to `self.layer`: the alias has no call of the class to swap, so the calls are not swapped for only one of them.
ALIASED_ITEM = """
from torch import nn


class SelfAttention(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.q = nn.Linear(width, width)


class LocalAttention(SelfAttention):
    pass


class CrossAttention(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.q = nn.Linear(width, width)


class Block(nn.Module):
    def __init__(self, width, is_decoder=True):
        super().__init__()
        attention_layer = SelfAttention if is_decoder else LocalAttention
        self.layer = nn.ModuleList()
        self.layer.append(attention_layer(width))
        if is_decoder:
            self.layer.append(CrossAttention(width))


model = Block(4)
for layer in model.layer:
    layer.q = nn.Linear(4, 4, bias=False)
"""


def test_an_item_built_through_an_alias_is_not_left_behind_when_the_others_are_swapped(scripts, mode):
    trace, roots, output = _declared(scripts, mode, ALIASED_ITEM)

    traced = roots["model"]
    with rebuilt_root(output, trace, traced) as rebuilt:
        assert [layer.q.bias for layer in rebuilt.layer] == [None, None]
        rebuilt.load_state_dict(traced.state_dict(), strict=True)
