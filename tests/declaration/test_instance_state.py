"""Instance state the script put on a module (a ``forward`` bound to one instance, an object a forward reads) is
declared where a source form exists, and refused by name where none does: never dropped.

Before, the completeness check compared only modules, tensors, hooks, parametrizations and plain settings: such a
script exited 0 with a file that built the model without the patch, and only a functional check (which does not run
on ``meta``, nor above 30M parameters) could have noticed.
"""

from __future__ import annotations

import pytest
import torch
from output_support import declared, file_of, rebuilt_root

from archit_codemod.declaration.api import generate
from archit_codemod.declaration.checking.completeness import roots_to_declare
from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.tracing.tracer import run_script

HEADER = """
import types

import torch
from torch import nn
from transformers import BertConfig, BertModel

config = BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37, vocab_size=99)
"""

PATCHED_FORWARD = (
    HEADER
    + """

def sink_forward(self, hidden_states):
    # Attention-sink style research code: one module's forward replaced on the instance.
    return torch.tanh(self.dense(hidden_states[:, -1]))


torch.manual_seed(0)
with torch.device(DEVICE):
    model = BertModel(config).eval()
model.pooler.forward = types.MethodType(sink_forward, model.pooler)
"""
)


def test_a_forward_bound_to_one_instance_is_bound_again_by_the_generated_class(scripts, mode):
    script = scripts("sink.py", PATCHED_FORWARD.replace("DEVICE", '"cpu"'))
    trace, roots, output = declared(script, mode)

    root = output.roots["model"][1]
    assert "self.pooler.forward = types.MethodType(sink_forward, self.pooler)" in file_of(output, root).text
    traced = roots["model"]
    with rebuilt_root(output, trace, traced) as rebuilt:
        assert rebuilt.pooler.forward.__func__.__name__ == "sink_forward"
        assert rebuilt.pooler.forward.__self__ is rebuilt.pooler
        rebuilt.load_state_dict(traced.state_dict(), strict=True)
        rebuilt.eval()
        input_ids = torch.tensor([[1, 5, 7, 9]])
        with torch.no_grad():
            assert torch.equal(rebuilt(input_ids).pooler_output, traced(input_ids).pooler_output)


def test_a_forward_bound_on_meta_is_declared_without_a_functional_check(scripts):
    # On meta no forward runs: the completeness check alone must see the patch.
    script = scripts("sink_meta.py", PATCHED_FORWARD.replace("DEVICE", '"meta"'))
    trace, roots, output = declared(script, "subclass")
    assert "types.MethodType(sink_forward, self.pooler)" in output.files[0].text


STEERED = (
    HEADER
    + """

class Steering:
    # A controller object a layer's forward reads (set by steering and interpretability code).
    def __init__(self, layer: int, scale: float = 1.0):
        self.layer = layer
        self.scale = scale


model = BertModel(config).eval()
model.encoder.layer[1].output.steering = Steering(1, scale=0.5)
"""
)


def test_an_object_set_on_a_module_is_built_again_by_the_generated_class(scripts, mode):
    script = scripts("steered.py", STEERED)
    trace, roots, output = declared(script, mode)

    root = output.roots["model"][1]
    assert (
        "self.encoder.layer[1].output.steering = Steering(layer=1, scale=0.5)" in file_of(output, root).text
    )
    with rebuilt_root(output, trace, roots["model"]) as rebuilt:
        steering = rebuilt.encoder.layer[1].output.steering
        assert (type(steering).__name__, steering.layer, steering.scale) == ("Steering", 1, 0.5)


def _refusal(scripts, name: str, source: str) -> str:
    trace = run_script(scripts(name, source))
    with pytest.raises(DeclarationError) as refused:
        generate(trace, roots_to_declare(trace))
    return str(refused.value)


def test_an_object_without_a_constructor_form_is_refused_naming_the_module_and_attribute(scripts):
    # No call of its class rebuilds it from what it holds, and the script's expression for it reads a variable of
    # the function that built it.
    source = STEERED.replace(
        "        self.scale = scale\n", "        self.scale = scale\n        self.history = [object()]\n"
    ).replace(
        "model.encoder.layer[1].output.steering = Steering(1, scale=0.5)\n",
        "\n\ndef steer(scale):\n    model.encoder.layer[1].output.steering = Steering(1, scale=scale)\n\n\nsteer(0.5)\n",
    )
    message = _refusal(scripts, "steered_history.py", source)
    assert "Cannot declare encoder.layer.1.output (in BertModel): attribute 'steering' is a" in message
    assert "Steering" in message
    assert "Fix:" in message


def test_a_lambda_bound_as_forward_is_bound_again_as_the_script_wrote_it(scripts, mode):
    # The lambda has no name to import it by: its own source is copied (rendering/written.py).
    source = PATCHED_FORWARD.replace("DEVICE", '"cpu"').replace(
        "types.MethodType(sink_forward, model.pooler)",
        "types.MethodType(lambda self, hidden_states: hidden_states[:, 0], model.pooler)",
    )
    trace, roots, output = declared(scripts("lambda_forward.py", source), mode)

    assert (
        "self.pooler.forward = types.MethodType(lambda self, hidden_states: hidden_states[:, 0], self.pooler)"
        in file_of(output, output.roots["model"][1]).text
    )
    with rebuilt_root(output, trace, roots["model"]) as rebuilt:
        assert rebuilt.pooler.forward.__self__ is rebuilt.pooler
        hidden_states = torch.randn(1, 3, 32)
        assert torch.equal(rebuilt.pooler(hidden_states), hidden_states[:, 0])


def test_a_lambda_reads_a_global_when_called_so_it_is_written_with_the_value_the_global_holds_at_the_end(
    scripts,
):
    # The traced lambda reads `index` when it runs, after the loop: so does the one written with its last value.
    source = PATCHED_FORWARD.replace("DEVICE", '"cpu"').replace(
        "model.pooler.forward = types.MethodType(sink_forward, model.pooler)",
        "for index in (0, 1):\n"
        "    model.pooler.forward = types.MethodType(lambda self, hidden_states: hidden_states[:, index], "
        "model.pooler)",
    )
    trace, roots, output = declared(scripts("lambda_forward_loop.py", source), "subclass")
    assert (
        "types.MethodType(lambda self, hidden_states: hidden_states[:, 1], self.pooler)"
        in output.files[0].text
    )


def test_state_the_class_builds_and_the_script_deleted_is_refused(scripts):
    source = """
from torch import nn


class Router(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(4, 4)
        self.table = {"a": 0, "b": 1}


model = Router()
model.proj = nn.Linear(4, 4, bias=False)
del model.table
"""
    message = _refusal(scripts, "deleted_state.py", source)
    assert "<root>: state table a dict missing from the traced model" in message
    assert "Fix, by kind of change:" in message and "instance state:" in message
