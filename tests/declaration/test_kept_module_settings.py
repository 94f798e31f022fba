"""A plain setting of a module the script kept, under a container the script replaced, is set again.

Reformer's attention reads ``config.attn_layers`` (one entry per layer) in ``__init__`` and keeps it. Truncating
the layer stack with the config updated (``layers = layers[:2]``, ``attn_layers`` halved too) leaves the kept
layers holding the four-entry tuple, while the original class built from the updated config reads the two-entry
one. The container change is what the original class builds from the config; the kept layers' setting is not, and
the generated class sets it again after ``__init__``, as it does any setting the script changed.
"""

from __future__ import annotations

from output_support import root_init_statements

from archit_codemod.declaration.api import generate, verify
from archit_codemod.declaration.checking.completeness import roots_to_declare
from archit_codemod.declaration.checking.verify import build_root, load_output
from archit_codemod.declaration.tracing.tracer import run_script

SCRIPT = """
from transformers import ReformerConfig, ReformerForMaskedLM

config = ReformerConfig(
    hidden_size=32, num_attention_heads=2, attention_head_size=16, feed_forward_size=37, vocab_size=99,
    axial_pos_embds_dim=(16, 16), axial_pos_shape=(8, 8), max_position_embeddings=64,
    attn_layers=("local", "lsh", "local", "lsh"), is_decoder=False,
)
model = ReformerForMaskedLM(config)
model.reformer.encoder.layers = model.reformer.encoder.layers[:2]
config.num_hidden_layers = 2
config.attn_layers = config.attn_layers[:2]
"""


def test_a_kept_layers_setting_read_from_the_config_is_set_again(scripts, mode):
    script = scripts("reformer_truncated.py", SCRIPT)
    trace = run_script(script)
    roots = roots_to_declare(trace)
    output = generate(trace, roots, mode=mode)
    verify(output, trace, roots)

    # The truncated stack itself is what the original class builds from the updated config: only the settings.
    kept = "('local', 'lsh', 'local', 'lsh')"
    assert root_init_statements(output)[-2:] == [
        f"self.reformer.encoder.layers[{index}].attention.attn_layers = {kept}" for index in (0, 1)
    ]
    module_name, class_name = output.roots["model"]
    traced = roots["model"]
    with load_output(output) as package:
        built = build_root(package.module(module_name), class_name, traced, trace)
    assert len(built.reformer.encoder.layers) == 2
    assert [layer.attention.attn_layers for layer in built.reformer.encoder.layers] == [
        ("local", "lsh", "local", "lsh")
    ] * 2
