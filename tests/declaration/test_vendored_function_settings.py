"""A function held as a setting, defined by a file that vendor mode copies, is that file's function.

transformers 5's Phimoe rotary embedding keeps ``self.rope_init_fn = self.compute_default_rope_parameters`` (a
staticmethod of its own class). The vendored ``modeling_phimoe.py`` defines its own copy of that class and so of
the function; verification names it as the copied file defines it, as it does the classes, so the copy compares
equal to transformers' function (it was a difference that failed every vendored Phimoe).
"""

from __future__ import annotations

from output_support import imported_root

from archit_codemod.declaration.api import generate, verify
from archit_codemod.declaration.checking.completeness import roots_to_declare
from archit_codemod.declaration.tracing.tracer import run_script

SCRIPT = """
from torch import nn
from transformers import PhimoeConfig, PhimoeForCausalLM

config = PhimoeConfig(
    hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=37,
    vocab_size=99, num_local_experts=2, num_experts_per_tok=1,
)
model = PhimoeForCausalLM(config)
model.model.layers[0].self_attn.q_proj = nn.Sequential(nn.Linear(32, 32), nn.Identity())
"""


def test_a_function_setting_of_a_copied_file_compares_as_the_original(scripts, mode):
    trace = run_script(scripts("phimoe_wrapped.py", SCRIPT))
    roots = roots_to_declare(trace)
    output = generate(trace, roots, mode=mode)
    verify(output, trace, roots)

    traced_function = roots["model"].model.rotary_emb.rope_init_fn
    with imported_root(output, "model") as root_class:
        built_function = root_class(roots["model"].config).model.rotary_emb.rope_init_fn
    assert built_function.__qualname__ == traced_function.__qualname__
    # Vendor mode: the vendored file's own copy; subclass mode: transformers' function itself. (transformers 4.57
    # takes the function from modeling_rope_utils, which is not copied: the same function in both modes.)
    copied = traced_function.__module__.endswith(".modeling_phimoe")
    assert (built_function is traced_function) == (mode == "subclass" or not copied)
