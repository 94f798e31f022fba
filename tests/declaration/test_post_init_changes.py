"""A replacement that the root's ``post_init`` would change is made after it, as the traced script made it.

The model below ties its head's decoder bias to the head's own bias in ``post_init`` (transformers 4.57's BERT does
the same in ``BertLMPredictionHead._tie_weights``). The script replaces the decoder after ``post_init`` with a module
that has no bias; built where the original decoder was built, the replacement would get the bias back.
"""

from __future__ import annotations

import pytest
import torch
from output_support import root_init_statements

from archit_codemod.declaration.api import generate, generate_verified, verify
from archit_codemod.declaration.checking.completeness import roots_to_declare
from archit_codemod.declaration.checking.verify import build_root, load_output
from archit_codemod.declaration.errors import VerificationError
from archit_codemod.declaration.planning import planner
from archit_codemod.declaration.tracing.tracer import run_script

SCRIPT = """
import torch
from torch import nn
from transformers import PretrainedConfig, PreTrainedModel


class TinyConfig(PretrainedConfig):
    model_type = "tiny-tied-bias"

    def __init__(self, hidden_size=8, vocab_size=11, **kwargs):
        self.hidden_size = hidden_size
        self.vocab_size = vocab_size
        super().__init__(**kwargs)


class Head(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))


class TinyLM(PreTrainedModel):
    config_class = TinyConfig

    def __init__(self, config):
        super().__init__(config)
        self.embed = nn.Embedding(config.vocab_size, config.hidden_size)
        self.head = Head(config)
        self.post_init()

    def post_init(self):
        super().post_init()
        # Resizing the vocabulary resizes the head's bias: the decoder must use that very tensor.
        self.head.decoder.bias = self.head.bias

    def forward(self, input_ids):
        return self.head.decoder(self.embed(input_ids))


class TwoLayers(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.up = nn.Linear(in_features, in_features)
        self.down = nn.Linear(in_features, out_features)

    def forward(self, hidden_states):
        return self.down(torch.relu(self.up(hidden_states)))


model = TinyLM(TinyConfig())
model.head.decoder = TwoLayers(8, 11)
"""


def test_a_replacement_post_init_would_change_is_made_after_it(scripts, mode):
    script = scripts("tied_bias.py", SCRIPT)
    trace = run_script(script)
    roots = roots_to_declare(trace)
    traced = roots["model"]
    assert not hasattr(traced.head.decoder, "bias")  # the script's replacement, as post_init left it

    output = generate(trace, roots, mode=mode)
    verify(output, trace, roots)  # raised VerificationError when the replacement was built before post_init

    module_name, class_name = output.roots["model"]
    statements = root_init_statements(output)
    assignment = "self.head.decoder = TwoLayers(8, 11)"
    assert _made_after_post_init(statements, assignment)
    with load_output(output) as package:
        built = build_root(package.module(module_name), class_name, traced, trace)
    assert not hasattr(built.head.decoder, "bias")
    assert [name for name, _ in built.named_parameters()] == [name for name, _ in traced.named_parameters()]
    built.load_state_dict(traced.state_dict(), strict=True)
    input_ids = torch.tensor([[1, 2, 3]])
    with torch.no_grad():
        assert torch.equal(built(input_ids), traced(input_ids))


def _made_after_post_init(statements: list[str], assignment: str) -> bool:
    # After the original construction, post_init included: super().__init__ (subclass) or self.post_init() (vendor).
    return statements.index(assignment) > next(
        index for index, code in enumerate(statements) if "__init__(" in code or "post_init()" in code
    )


def test_the_verified_generation_asks_post_init_once_verification_finds_the_difference(scripts, mode):
    trace = run_script(scripts("tied_bias.py", SCRIPT))
    roots = roots_to_declare(trace)
    assignment = "self.head.decoder = TwoLayers(8, 11)"
    # Planned without asking, the replacement is built where the original decoder was (the head's generated
    # class), and post_init gives it the bias back.
    unasked = generate(trace, roots, mode=mode, probe_post_init=False)
    assert assignment not in root_init_statements(unasked)
    with pytest.raises(VerificationError, match="bias"):
        verify(unasked, trace, roots)

    output = generate_verified(trace, roots, mode=mode)

    assert _made_after_post_init(root_init_statements(output), assignment)
    verify(output, trace, roots)


def test_a_replacement_post_init_leaves_alone_stays_where_the_original_was_built(scripts, mode):
    script = scripts("untouched.py", SCRIPT.replace("model.head.decoder =", "model.embed ="))
    script.write_text(script.read_text().replace("TwoLayers(8, 11)", "nn.Embedding(11, 8, padding_idx=0)"))
    trace = run_script(script)
    roots = roots_to_declare(trace)
    output = generate(trace, roots, mode=mode)
    verify(output, trace, roots)
    statements = root_init_statements(output)
    [embedding] = [index for index, code in enumerate(statements) if code.startswith("self.embed = ")]
    assert (
        statements[embedding]
        == "self.embed = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=0)"
    )
    assert embedding < statements.index("self.post_init()")


def test_the_verified_generation_does_not_ask_post_init_when_verification_passes(scripts, monkeypatch):
    script = scripts("untouched.py", SCRIPT.replace("model.head.decoder =", "model.embed ="))
    script.write_text(script.read_text().replace("TwoLayers(8, 11)", "nn.Embedding(11, 8, padding_idx=0)"))
    trace = run_script(script)
    roots = roots_to_declare(trace)
    asked = []
    probe = planner.replacements_post_init_changes
    monkeypatch.setattr(
        planner, "replacements_post_init_changes", lambda *args: asked.append(args) or probe(*args)
    )

    output = generate_verified(trace, roots)

    assert asked == []  # the copy of the whole model is not made
    assert "self.embed = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=0)" in (
        root_init_statements(output)
    )
