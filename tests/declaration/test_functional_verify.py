"""Verification on the CPU: no meta leftovers, a strict load of the traced weights, equal outputs."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from archit_codemod.declaration.api import generate, verify
from archit_codemod.declaration.checking import functional
from archit_codemod.declaration.checking.completeness import roots_to_declare
from archit_codemod.declaration.checking.functional import first_output_difference, skip_reason
from archit_codemod.declaration.emitting.output import Output
from archit_codemod.declaration.errors import DeclarationError, VerificationError
from archit_codemod.declaration.tracing.tracer import run_script

HEADER = """
import torch
from torch import nn
from transformers import BertConfig, BertModel

config = BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37, vocab_size=99)
"""

SCALED = """
class Scaled(nn.Module):
    \"\"\"Scales what the wrapped module computes; the factor is no weight (not in the state_dict).\"\"\"

    def __init__(self, inner, factor):
        super().__init__()
        self.inner = inner
        self.register_buffer("factor", torch.tensor(float(factor)), persistent=False)

    def forward(self, *args, **kwargs):
        return self.inner(*args, **kwargs) * self.factor


model = BertModel(config)
model.encoder.layer[0].attention.output.dense = Scaled(model.encoder.layer[0].attention.output.dense, 0.5)
"""


def generated_for(scripts, body: str):
    trace = run_script(scripts("modify.py", HEADER + body))
    roots = roots_to_declare(trace)
    return generate(trace, roots), trace, roots


def test_outputs_that_differ_fail_verification_naming_the_output(scripts):
    generated, trace, roots = generated_for(scripts, SCALED)
    verify(generated, trace, roots)  # the declaration as generated is right
    assert "Scaled(nn.Linear(config.hidden_size, config.hidden_size), 0.5)" in generated.source
    # A declaration whose module tree, tensors and settings all match, but which computes something else.
    generated = scaling_by_2(generated)
    with pytest.raises(VerificationError) as failed:
        verify(generated, trace, roots)
    message = str(failed.value)
    assert message.startswith(
        "BertModelModified does not rebuild the traced model 'model': with the traced weights"
    )
    assert (
        "its outputs on dummy_inputs differ: output last_hidden_state: Tensor-likes are not close!" in message
    )


def test_the_size_limit_turns_the_cpu_check_off(scripts, monkeypatch):
    generated, trace, roots = generated_for(scripts, SCALED)
    generated = scaling_by_2(generated)
    monkeypatch.setattr(functional, "MAX_PARAMETERS", 1000)
    assert skip_reason(roots["model"]) == "it has more than 1,000 parameters"
    # Only the meta comparison runs, and it cannot see the factor: the verdict says so, and why.
    verdict = verify(generated, trace, roots)
    assert verdict.outputs_not_compared == {"model": "it has more than 1,000 parameters"}
    assert verdict.notes() == (
        "model: the generated code was checked structurally (modules, tensors, ties, hooks, settings, instance "
        "state), but its outputs were not compared with the traced model's, and its loading through from_pretrained was "
        "not checked: it has more than 1,000 parameters.",
    )


def test_outputs_compared_leave_nothing_to_say(scripts):
    generated, trace, roots = generated_for(scripts, SCALED)
    assert verify(generated, trace, roots).outputs_not_compared == {}


def test_a_model_that_fails_on_its_dummy_inputs_is_run_on_inputs_built_from_its_config(scripts):
    # A token classifier whose forward needs an attention mask: BERT's dummy_inputs carry none, the config-built
    # inputs do, so the outputs are compared (and a wrong factor is found).
    body = SCALED.replace(
        "model = BertModel(config)\n",
        "class NeedsMask(BertModel):\n"
        "    def forward(self, input_ids=None, attention_mask=None, **kwargs):\n"
        "        assert attention_mask is not None, 'needs a mask'\n"
        "        return super().forward(input_ids=input_ids, attention_mask=attention_mask, **kwargs)\n\n\n"
        "model = NeedsMask(config)\n",
    )
    generated, trace, roots = generated_for(scripts, body)
    assert verify(generated, trace, roots).outputs_not_compared == {}
    wrong = scaling_by_2(generated)
    with pytest.raises(VerificationError, match="its outputs on inputs built from its config differ"):
        verify(wrong, trace, roots)


def test_a_module_left_on_meta_fails_verification(scripts):
    body = """
class MaterialisedLater(nn.Module):
    \"\"\"Allocates on meta and expects its user to materialise it, as optimum-quanto's modules do.\"\"\"

    def __init__(self, width):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(width, width, device="meta"))

    def forward(self, x):
        return x @ self.weight


model = BertModel(config)
layer = MaterialisedLater(32)
layer.to_empty(device="cpu")
nn.init.eye_(layer.weight)
model.encoder.layer[1].attention.output.dense = layer
"""
    generated, trace, roots = generated_for(scripts, body)
    with pytest.raises(VerificationError) as failed:
        verify(generated, trace, roots)
    message = str(failed.value)
    assert (
        "built on the CPU, it leaves encoder.layer.1.attention.output.dense.weight on the meta device"
        in message
    )
    assert (
        "Fix: build the module with a constructor that allocates its tensors on the device it is given"
        in message
    )


def test_the_traced_models_modes_are_restored_and_a_bfloat16_model_verifies(scripts):
    generated, trace, roots = generated_for(scripts, SCALED + "model.to(torch.bfloat16)\n")
    model = roots["model"]
    model.train()
    model.encoder.layer[1].eval()
    verify(generated, trace, roots)
    assert model.training and model.encoder.layer[0].training and not model.encoder.layer[1].training


def test_a_module_that_cannot_be_built_on_meta_is_built_on_the_cpu_when_small(scripts, monkeypatch):
    body = "model = BertModel(config)\ntorch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8, inplace=True)\n"
    generated, trace, roots = generated_for(scripts, body)
    with pytest.warns(UserWarning) as warned:
        verify(generated, trace, roots)  # torch's quantized modules fail on meta: the CPU build is compared
    [message] = [str(warning.message) for warning in warned if "meta device" in str(warning.message)]
    assert message.startswith(
        "BertModelModified rebuilds the model when built with its constructor, but it fails"
    )
    assert "Build it with BertModelModified(config) and load the weights with load_state_dict" in message
    monkeypatch.setattr(functional, "MAX_PARAMETERS", 1000)
    with pytest.raises(DeclarationError) as refused:
        verify(generated, trace, roots)
    message = str(refused.value)
    assert message.startswith(
        "BertModelModified does not rebuild the traced model 'model': it cannot be checked"
    )
    assert "NotImplementedError: Could not run 'quantized::" in message
    assert "it has more than 1,000 parameters, so it is not built on the CPU either. Fix:" in message
    assert "\n" not in message  # torch's hundred-line dispatcher error, cut


def test_skip_reasons():
    assert skip_reason(nn.Linear(2, 2)) is None
    with torch.device("meta"):
        on_meta = nn.Linear(2, 2)
    assert skip_reason(on_meta) == "its weights are on the meta device, with no values to compute with"


def test_the_first_differing_output_is_named_by_its_path():
    hidden = (torch.zeros(2, 3), torch.ones(2, 3))
    expected = {"logits": torch.zeros(2), "hidden_states": hidden}
    assert first_output_difference(expected, {"logits": torch.zeros(2), "hidden_states": hidden}) is None
    changed = {"logits": torch.zeros(2), "hidden_states": (hidden[0], hidden[1] + 1e-3)}
    assert first_output_difference(expected, changed).startswith(
        "output hidden_states[1]: Tensor-likes are not close"
    )
    assert (
        first_output_difference(expected, {"logits": torch.zeros(2)}) == "output hidden_states[0] is missing"
    )
    assert (
        first_output_difference({"logits": torch.zeros(2)}, {"logits": torch.zeros(3)})
        == "output logits is (3,) torch.float32, the traced model's (2,) torch.float32"
    )


def scaling_by_2(generated: Output) -> Output:
    """The declaration of ``Scaled(..., 0.5)`` edited by hand to scale by 2.0: where ``__init__`` builds it, and where
    ``_init_weights`` builds it again to compute its unsaved buffer after ``from_pretrained``."""
    assert "factor=0.5," in generated.source
    return edited(
        edited(generated, "config.hidden_size), 0.5)", "config.hidden_size), 2.0)"),
        "factor=0.5,",
        "factor=2.0,",
    )


def edited(output: Output, old: str, new: str) -> Output:
    """``output`` with ``old`` replaced by ``new`` in its one file (a generated file edited by hand)."""
    [file] = output.files
    return dataclasses.replace(output, files=(dataclasses.replace(file, text=file.text.replace(old, new)),))


def test_a_library_call_on_the_root_that_fails_on_meta_is_refused_naming_the_root(scripts):
    # PEFT BOFT computes its butterfly permutations with Tensor.item() when it wraps a layer.
    body = (
        "from peft import BOFTConfig, inject_adapter_in_model\n"
        "model = BertModel(config)\n"
        "inject_adapter_in_model(BOFTConfig(boft_block_size=4, target_modules=['query']), model)\n"
    )
    generated, trace, roots = generated_for(scripts, body)
    with pytest.raises(DeclarationError) as refused:
        verify(generated, trace, roots)
    message = str(refused.value)
    assert "`inject_adapter_in_model(...)` (on <root>) on the meta device" in message
    assert "raises RuntimeError: Tensor.item() cannot be called on meta tensors" in message
    assert message.endswith("or use a form of the library that changes the model in place.")


def test_a_model_without_dummy_inputs_is_run_on_what_the_script_ran_it_on(scripts):
    # A plain PyTorch network has no dummy_inputs and no config: the inputs of the script's own call are used.
    source = """
import torch
from torch import nn


class Scaled(nn.Module):
    def __init__(self, inner, factor):
        super().__init__()
        self.inner = inner
        self.register_buffer("factor", torch.tensor(float(factor)), persistent=False)

    def forward(self, x):
        return self.inner(x) * self.factor


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 4)

    def forward(self, x):
        return self.body(x)


model = Net()
model.body = Scaled(model.body, 0.5)
model(torch.ones(2, 4))
"""
    trace = run_script(scripts("plain.py", source))
    roots = roots_to_declare(trace)
    generated = generate(trace, roots)
    assert verify(generated, trace, roots).outputs_not_compared == {}
    wrong = edited(generated, "nn.Linear(4, 4), 0.5)", "nn.Linear(4, 4), 2.0)")
    with pytest.raises(VerificationError, match="its outputs on the inputs the script ran it on differ"):
        verify(wrong, trace, roots)


PEFT_LORA = """
from peft import LoraConfig, get_peft_model

model = BertModel(config)
peft_model = get_peft_model(model, LoraConfig(r=4, target_modules=["query", "value"]))
"""


def test_where_a_library_recorded_the_model_built_is_no_difference_on_meta(scripts, monkeypatch):
    # PEFT's LoRA layers keep the device the model was on when the adapter was injected (kwargs["device_map"]): the
    # CPU in the traced model, meta in the build the structural check compares it with.
    generated, trace, roots = generated_for(scripts, PEFT_LORA)
    traced_lora = roots["model"].encoder.layer[0].attention.self.query
    assert traced_lora.kwargs["device_map"] == {"": torch.device("cpu")}
    monkeypatch.setattr(functional, "MAX_PARAMETERS", 1000)
    verdict = verify(generated, trace, roots)
    assert verdict.outputs_not_compared == {"model": "it has more than 1,000 parameters"}


def test_a_difference_inside_a_dict_of_instance_state_names_the_item():
    from archit_codemod.declaration.checking.compare import Difference
    from archit_codemod.declaration.checking.state import describe

    def described(value):
        return describe(value, lambda name: False, {}, {})

    on_cpu = described({"device_map": {"": torch.device("cpu")}, "bits": torch.int8, "rank": 4})
    on_meta = described({"device_map": {"": torch.device("meta")}, "bits": torch.int8, "rank": 4})
    assert on_cpu == on_meta
    other = described({"device_map": {"": torch.device("cpu")}, "bits": torch.uint8, "rank": 4})
    difference = Difference("encoder.layer.0", "state", "kwargs", expected=on_cpu, got=other)
    assert difference.describe("traced", "generated") == (
        "encoder.layer.0: state kwargs['bits'] = torch.uint8, traced = torch.int8"
    )
