"""Ties a model makes by module path or pattern cover the parameters of a replacement too.

transformers 5's Zamba ties every parameter under each hybrid layer's ``shared_transf`` block to the first block's
(``_tied_weights_keys = {r"layers.(?!2\\.)\\d+.shared_transf": "layers.2.shared_transf"}``, set per instance). A
LoRA-style wrapper put on each block's ``q_proj``:

- one wrapper object at every block: the generated classes build one per path, and ``post_init`` ties them, as
  traced (declared: the pattern, expanded by transformers, names the wrapper's parameters);
- a wrapper of its own at each block: ``post_init`` would tie them anyway, so no class rebuilds the traced model:
  refused before anything is generated, naming the parameters and the fix;
- that, then ``model.tie_weights()`` in the script (the fix): declared.
"""

from __future__ import annotations

import pytest
import torch
import transformers
from packaging.version import Version

from archit_codemod.declaration.api import generate, generate_verified, verify
from archit_codemod.declaration.checking.completeness import roots_to_declare
from archit_codemod.declaration.checking.verify import build_root, load_output
from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.tracing.tracer import run_script

pytestmark = pytest.mark.skipif(
    Version(transformers.__version__) < Version("5"),
    reason="transformers 4.57's Zamba puts one block object in every hybrid layer (no ties by pattern)",
)

SCRIPT = """
from torch import nn
from transformers import ZambaConfig, ZambaForSequenceClassification


class LoRALinear(nn.Module):
    def __init__(self, base, r=4):
        super().__init__()
        self.base = base
        self.lora_a = nn.Linear(base.in_features, r, bias=False)
        self.lora_b = nn.Linear(r, base.out_features, bias=False)

    def forward(self, x):
        return self.base(x) + self.lora_b(self.lora_a(x))


config = ZambaConfig(
    vocab_size=99, hidden_size=32, intermediate_size=37, num_hidden_layers=6, num_attention_heads=4,
    num_key_value_heads=4, attention_hidden_size=64, attention_head_dim=16, mamba_d_state=4, mamba_dt_rank=4,
    mamba_expand=2, n_mamba_heads=1, attn_layer_period=2, attn_layer_offset=1, num_labels=2, pad_token_id=0,
)
model = ZambaForSequenceClassification(config)
blocks = [layer.shared_transf for layer in model.model.layers if hasattr(layer, "shared_transf")]
"""
ONE_WRAPPER = "shared = LoRALinear(blocks[0].self_attn.q_proj)\nfor block in blocks:\n    block.self_attn.q_proj = shared\n"
ONE_EACH = "for block in blocks:\n    block.self_attn.q_proj = LoRALinear(block.self_attn.q_proj)\n"


def _declared_and_rebuilt(scripts, body: str, mode: str):
    trace = run_script(scripts("zamba_lora.py", SCRIPT + body))
    roots = roots_to_declare(trace)
    output = generate(trace, roots, mode=mode)
    verify(output, trace, roots)
    traced = roots["model"]
    module_name, class_name = output.roots["model"]
    with load_output(output) as package:
        built = build_root(package.module(module_name), class_name, traced, trace)
    built.load_state_dict(traced.state_dict(), strict=True)
    inputs = torch.tensor([[3, 4, 5, 6]])
    with torch.no_grad():  # the Mamba mixer's scan is not bit-for-bit repeatable between two runs
        torch.testing.assert_close(built.eval()(inputs).logits, traced.eval()(inputs).logits)
    return built


@pytest.mark.parametrize(
    "body", [ONE_WRAPPER, ONE_EACH + "model.tie_weights()\n"], ids=["one-wrapper", "retied"]
)
def test_a_replacement_the_model_ties_by_pattern_is_declared(scripts, mode, body):
    built = _declared_and_rebuilt(scripts, body, mode)

    first, second = (layer.shared_transf.self_attn.q_proj for layer in built.model.layers[2:5:2])
    assert first is not second  # one module per path, built by the generated classes
    assert first.lora_a.weight is second.lora_a.weight  # and tied by the model's own pattern


@pytest.mark.parametrize("generation", [generate, generate_verified], ids=["generate", "verified"])
def test_a_replacement_of_its_own_where_the_model_ties_is_refused_with_the_fix(scripts, mode, generation):
    trace = run_script(scripts("zamba_lora.py", SCRIPT + ONE_EACH))
    roots = roots_to_declare(trace)

    # The verified generation asks what post_init ties only once verification finds the tie: the same refusal.
    with pytest.raises(DeclarationError) as refused:
        generation(trace, roots, mode=mode)
    message = str(refused.value)
    assert message.startswith(
        "model.layers.2.shared_transf.self_attn.q_proj.lora_a.weight: the model's own ties"
    )
    assert "one tensor with model.layers.4.shared_transf.self_attn.q_proj.lora_a.weight" in message
    assert (
        "Fix: place one replacement object at every path the model ties, or call model.tie_weights()"
        in message
    )
