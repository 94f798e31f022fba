"""Verification takes the path users take: the generated class's ``from_pretrained`` (vendor mode: the Auto class and
``trust_remote_code=True``) on the traced weights saved, and the buffers that transformers 5's ``from_pretrained``
leaves uninitialised (computed in ``__init__``, not saved) computed again by the generated ``_init_weights``."""

from __future__ import annotations

import dataclasses
import re
import tempfile

import pytest
import torch
import transformers
from packaging.version import Version

from archit_codemod.declaration.api import generate, verify
from archit_codemod.declaration.checking.completeness import roots_to_declare
from archit_codemod.declaration.checking.verify import build_root, load_output
from archit_codemod.declaration.emitting.output import Output
from archit_codemod.declaration.errors import VerificationError
from archit_codemod.declaration.tracing.tracer import run_script

BUILDS_ON_META = Version(transformers.__version__) >= Version("5")
"""transformers 5's from_pretrained builds the model on meta, buffers included (4.x kept buffers on the CPU)."""

HEADER = """
import math

import torch
from torch import nn
from transformers import BertConfig, BertModel

config = BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37, vocab_size=99)
"""

DAMPED = (
    HEADER
    + '''

class Damped(nn.Module):
    """Damps each output feature of the wrapped layer by its own factor, computed from the settings (no weight)."""

    def __init__(self, inner, decay, width=32):
        super().__init__()
        self.inner = inner
        self.decay = decay
        self.width = width
        self.register_buffer("factors", torch.exp(-decay * torch.arange(width, dtype=torch.float32)), persistent=False)

    def forward(self, hidden):
        return self.inner(hidden) * self.factors


model = BertModel(config)
for layer in model.encoder.layer:
    layer.attention.output.dense = Damped(layer.attention.output.dense, 0.05)
'''
)

OFT = (
    HEADER
    + """
from peft import OFTConfig, get_peft_model

torch.manual_seed(0)
model = BertModel(config)
peft_model = get_peft_model(model, OFTConfig(r=0, oft_block_size=8, target_modules=["query", "value"]))
"""
)


def _declared(scripts, source: str, mode: str):
    trace = run_script(scripts("modify.py", source))
    roots = roots_to_declare(trace, "model")
    return generate(trace, roots, mode=mode), trace, roots


def _without_init_weights(output: Output) -> Output:
    """``output`` with the generated ``_init_weights`` taken out (the first method of that name after ``__init__``
    of a generated class: in a vendored file, the original model's ``_init_weights`` comes earlier)."""
    files = []
    for file in output.files:
        text = re.sub(
            r"\n    def _init_weights\(self, module\):\n        super\(\)\._init_weights\(module\)\n"
            r"(?:        .*\n|\n)*?"
            r"(?=\n\S|\n    \S|\Z)",
            "\n",
            file.text,
        )
        files.append(dataclasses.replace(file, text=text))
    changed = dataclasses.replace(output, files=tuple(files))
    assert changed != output
    return changed


def _loaded_again(output: Output, trace, roots) -> tuple[torch.nn.Module, torch.nn.Module]:
    """The generated root built with the traced weights, and the same saved and loaded with its ``from_pretrained``."""
    root = roots["model"]
    with load_output(output) as package, tempfile.TemporaryDirectory() as folder:
        module, class_name = output.roots["model"]
        built = build_root(package.module(module), class_name, root, trace)
        built.load_state_dict(root.state_dict(), strict=True)
        built.save_pretrained(folder)
        loaded = type(built).from_pretrained(folder)
    return built.eval(), loaded.eval()


def test_buffers_a_script_module_computes_in_init_are_computed_again_after_from_pretrained(scripts, mode):
    output, trace, roots = _declared(scripts, DAMPED, mode)
    text = "\n".join(file.text for file in output.files)
    assert (
        "    def _init_weights(self, module):\n"
        "        super()._init_weights(module)\n"
        "        # Buffers computed in __init__ and not saved (Damped's factors): from_pretrained builds the model on "
        "the meta\n"
        "        # device and leaves them empty, so a module built with the same arguments computes them again.\n"
        "        if isinstance(module, Damped):\n"
        "            computed = Damped(\n"
        "                inner=module.inner,\n"
        "                decay=module.decay,\n"
        "                width=module.width,\n"
        "            )\n"
        "            module.factors.copy_(computed.factors)\n"
    ) in text
    verify(output, trace, roots)  # the loading path included
    if mode == "subclass":
        built, loaded = _loaded_again(output, trace, roots)
        for index in range(2):
            path = f"encoder.layer.{index}.attention.output.dense.factors"
            assert torch.equal(loaded.get_buffer(path), roots["model"].get_buffer(path))
        inputs = {"input_ids": torch.tensor([[5, 6, 7, 8]])}
        with torch.no_grad():
            assert torch.equal(loaded(**inputs).last_hidden_state, built(**inputs).last_hidden_state)


def test_without_them_computed_again_the_loading_path_fails_verification(scripts, mode):
    output, trace, roots = _declared(scripts, DAMPED, mode)
    without = _without_init_weights(output)
    if not BUILDS_ON_META:
        verify(without, trace, roots)  # transformers 4 builds buffers on the CPU: nothing is lost
        return
    with pytest.raises(VerificationError) as failed:
        verify(without, trace, roots)
    message = str(failed.value)
    how = (
        "BertModelModified.from_pretrained"
        if mode == "subclass"
        else "AutoModel.from_pretrained(..., trust_remote_code=True)"
    )
    assert (
        f"does not rebuild the traced model 'model': loaded with {how}, its outputs on dummy_inputs differ"
        in message
    )
    assert (
        "The buffers not saved in the checkpoint differ: encoder.layer.0.attention.output.dense.factors, "
        "encoder.layer.1.attention.output.dense.factors. Fix: keep the arguments of their module's constructor as "
        "attributes of the same names" in message
    )


def test_peft_oft_index_buffers_are_computed_again_after_from_pretrained(scripts, mode):
    # PEFT OFT's rotation modules compute the indices of the upper triangle (rows, cols) in __init__ and save
    # only the rotation's parameters.
    output, trace, roots = _declared(scripts, OFT, mode)
    text = "\n".join(file.text for file in output.files)
    assert (
        "        if isinstance(module, OFTRotationModule):\n            computed = OFTRotationModule(\n"
        in text
    )
    assert (
        "            module.rows.copy_(computed.rows)\n            module.cols.copy_(computed.cols)\n" in text
    )
    verify(output, trace, roots)
    if BUILDS_ON_META:
        with pytest.raises(
            VerificationError, match="IndexError: index .* is out of bounds|outputs on .* differ"
        ):
            verify(_without_init_weights(output), trace, roots)


def test_what_the_library_cannot_save_is_said_in_the_verdict_not_failed(scripts):
    # transformers' save_pretrained writes tensors only; torch's dynamically quantized Linear keeps its dtype in its
    # state_dict. No class can save such a model, so the loading path is not checked, and the verdict says why.
    source = (
        HEADER
        + "model = BertModel(config)\n"
        + "torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8, inplace=True)\n"
    )
    output, trace, roots = _declared(scripts, source, "subclass")
    with pytest.warns(UserWarning, match="fails to build on the meta device"):
        verdict = verify(output, trace, roots)
    assert verdict.outputs_not_compared == {}
    assert verdict.loading_not_checked["model"].startswith("it fails to build on the meta device")
    assert verdict.notes() == (
        "model: the generated code gives the traced model's outputs, but loading it through from_pretrained was not "
        f"checked: {verdict.loading_not_checked['model']}.",
    )


def test_a_plain_torch_model_has_no_loading_path_beyond_load_state_dict(scripts):
    source = """
    import torch
    from torch import nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Linear(4, 4)

        def forward(self, x):
            return self.body(x)


    model = Net()
    model.body = nn.Linear(4, 4, bias=False)
    model(torch.ones(2, 4))
    """
    output, trace, roots = _declared(scripts, source, "subclass")
    verdict = verify(output, trace, roots)
    assert verdict.loading_not_checked == {} and verdict.notes() == ()


def test_a_buffer_no_call_computes_again_is_named_in_a_warning_and_fails_the_loading_path(scripts, mode):
    # Each layer's factor is a literal of its own call, kept nowhere but in the buffer: no one call of the class,
    # with arguments read back from the module, computes both.
    source = (
        HEADER
        + """

class Scaled(nn.Module):
    def __init__(self, inner, factor):
        super().__init__()
        self.inner = inner
        self.register_buffer("factor", torch.tensor(float(factor)), persistent=False)

    def forward(self, hidden):
        return self.inner(hidden) * self.factor


model = BertModel(config)
for index, layer in enumerate(model.encoder.layer):
    layer.attention.output.dense = Scaled(layer.attention.output.dense, 0.5 / (index + 1))
"""
    )
    output, trace, roots = _declared(scripts, source, mode)
    [warning] = [w for w in output.warnings if "not saved in a checkpoint" in w]
    assert warning.startswith(
        "model: encoder.layer.0.attention.output.dense.factor, encoder.layer.1.attention.output.dense.factor: buffers "
        "that are not saved in a checkpoint (persistent=False) and that the generated classes cannot compute again "
        "after loading"
    )
    assert "computed = Scaled(" not in "\n".join(file.text for file in output.files)
    if not BUILDS_ON_META:
        verify(output, trace, roots)
        return
    with pytest.raises(
        VerificationError, match="The buffers not saved in the checkpoint differ: encoder.layer.0"
    ):
        verify(output, trace, roots)
