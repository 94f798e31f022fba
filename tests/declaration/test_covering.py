"""One generated class for layers whose ``__init__`` took different branches (``planning/covering.py``).

GLPN's self-attention builds ``self.layer_norm`` only when ``sequence_reduction_ratio > 1``; its encoder builds the
layers of every stage in nested ``for`` loops. Replacing every norm changes that attribute in some stages only. The
layers of the other stages are built by the same generated classes (the replaced assignment does not run for
them), so one class per layer class serves every stage and the loops swap it at their one call, whichever stage
comes first.
"""

from __future__ import annotations

import ast

import pytest
from output_support import declared, rebuilt_root

from archit_codemod.declaration.api import generate
from archit_codemod.declaration.checking.completeness import roots_to_declare
from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.tracing.tracer import run_script

SCRIPT = """
import torch
from torch import nn
from transformers import GLPNConfig, GLPNModel


class RMSNorm(nn.Module):
    def __init__(self, hidden_size, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.eps = eps

    def forward(self, x):
        return x * (x.pow(2).mean(-1, keepdim=True) + self.eps).rsqrt() * self.weight


config = GLPNConfig(
    num_encoder_blocks=2, depths=[1, 2], sr_ratios={sr_ratios}, hidden_sizes=[8, 16], patch_sizes=[7, 3],
    strides=[4, 2], num_attention_heads=[1, 2], mlp_ratios=[2, 2], decoder_hidden_size=8,
)
model = GLPNModel(config)
for module in list(model.modules()):
    for name, child in list(module.named_children()):
        if isinstance(child, nn.LayerNorm) and {which}:
            setattr(module, name, RMSNorm(child.normalized_shape[0], eps=child.eps))
"""

EVERY_NORM = "True"


def _subclasses_of(source: str, original: str) -> list[str]:
    return [
        node.name
        for node in ast.parse(source).body
        if isinstance(node, ast.ClassDef)
        and (
            node.name.startswith(original + "Modified")
            or any(getattr(b, "id", None) == original for b in node.bases)
        )
    ]


@pytest.mark.parametrize("sr_ratios", ["[2, 1]", "[1, 2]"], ids=["with-norm-first", "without-norm-first"])
def test_layers_of_stages_that_took_other_branches_share_one_generated_class(scripts, mode, sr_ratios):
    script = scripts("glpn_norms.py", SCRIPT.format(sr_ratios=sr_ratios, which=EVERY_NORM))

    trace, roots, output = declared(script, mode)  # verified: module tree, strict load, equal outputs

    source = "\n".join(file.text for file in output.files)
    assert _subclasses_of(source, "GLPNLayer") == ["GLPNLayerModified"]
    assert _subclasses_of(source, "GLPNEfficientSelfAttention") == ["GLPNEfficientSelfAttentionModified"]
    with rebuilt_root(output, trace, roots["model"]) as rebuilt:
        layers = [layer for block in rebuilt.encoder.block for layer in block]
        assert {type(layer).__name__ for layer in layers} == {"GLPNLayerModified"}
        attentions = {sr: layer.attention.self for layer in layers if (sr := layer.attention.self.sr_ratio)}
        assert type(attentions[2].layer_norm).__name__ == "RMSNorm"
        assert not hasattr(attentions[1], "layer_norm")


def test_layers_that_hold_the_attribute_unchanged_do_not_share_the_class(scripts, mode):
    # Every layer holds layer_norm_1; only the first stage's is replaced (layer_norm_2 everywhere), so the later
    # stages' layers need the original assignment: one class cannot serve both, and the loops cannot pick by index.
    which = "(name != 'layer_norm_1' or module is model.encoder.block[0][0])"
    script = scripts("glpn_first_norm.py", SCRIPT.format(sr_ratios="[1, 1]", which=which))
    trace = run_script(script)

    with pytest.raises(DeclarationError, match="encoder.block"):
        generate(trace, roots_to_declare(trace), mode=mode)
