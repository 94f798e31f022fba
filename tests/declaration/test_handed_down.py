"""A child whose class got a generated version is swapped where the tracer saw it built.

A child built in one module's ``__init__`` and passed to another's constructor is swapped in the builder.

SpeechT5's speech-to-text model builds ``text_decoder = SpeechT5DecoderWithTextPrenet(config)`` and passes it to
``SpeechT5Model(config, encoder, decoder)``, which stores ``SpeechT5DecoderWithoutPrenet(config) if decoder is None
else decoder``. Swapping the callee in that statement builds the branch that did not run; the call to swap is the
builder's. A child built by a factory function the owner calls (Mask2Former's ``load_backbone(config)``) is built
by its recorded call instead: the factory is no callee to swap, whatever its arguments look like.
"""

from __future__ import annotations

import sys

import pytest
import torch
from output_support import declared, imported_root, root_init_statements

from archit_codemod.declaration.api import generate
from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.tracing.roots import find_roots
from archit_codemod.declaration.tracing.tracer import run_script
from tests.declaration.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
import zoo_cells  # noqa: E402

CLASSES = """
import torch
from torch import nn


class LoRA(nn.Module):
    def __init__(self, base, rank=2):
        super().__init__()
        self.base = base
        self.down = nn.Linear(base.in_features, rank, bias=False)
        self.up = nn.Linear(rank, base.out_features, bias=False)

    def forward(self, x):
        return self.base(x) + self.up(self.down(x))


class SpeechDecoder(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.proj = nn.Linear(width, width)

    def forward(self, x):
        return self.proj(x)


class TextDecoder(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.embed = nn.Linear(width, width)
        self.proj = nn.Linear(width, width)

    def forward(self, x):
        return self.proj(self.embed(x))


class Body(nn.Module):
    def __init__(self, width, decoder=None):
        super().__init__()
        self.decoder = SpeechDecoder(width) if decoder is None else decoder

    def forward(self, x):
        return self.decoder(x)


class TextModel(nn.Module):
    def __init__(self, width):
        super().__init__()
        text_decoder = TextDecoder(width)
        self.body = Body(width, text_decoder)
        self.head = nn.Linear(width, 3)

    def forward(self, x):
        return self.head(self.body(x))


class Holder(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.decoder = TextDecoder(width)
"""


def test_the_callee_is_swapped_in_the_builder_and_the_owner_keeps_its_class(scripts, mode):
    script = scripts(
        "handed_down.py",
        CLASSES
        + """
model = TextModel(8)
model.body.decoder.proj = LoRA(model.body.decoder.proj)
""",
    )
    trace, roots, output = declared(script, mode)

    statements = root_init_statements(output)
    assert "text_decoder = TextDecoderModified(width)" in statements
    assert "self.body = Body(width, text_decoder)" in statements
    assert not any(name.startswith("Body") for name in output.classes)

    traced = roots["model"].eval()
    with imported_root(output, "model") as model_class:
        rebuilt = model_class(8).eval()
    assert type(rebuilt.body).__name__ == "Body"
    assert type(rebuilt.body.decoder.proj).__name__ == "LoRA"
    rebuilt.load_state_dict(traced.state_dict(), strict=True)
    inputs = torch.randn(2, 8)
    with torch.no_grad():
        assert torch.equal(rebuilt(inputs), traced(inputs))


def test_a_child_built_by_a_module_no_generated_class_rebuilds_is_refused(scripts):
    script = scripts(
        "held_elsewhere.py",
        CLASSES
        + """
holder = Holder(8)
model = Body(8, holder.decoder)
model.decoder.proj = LoRA(model.decoder.proj)
""",
    )
    trace = run_script(script)
    with pytest.raises(DeclarationError) as refused:
        generate(trace, find_roots(trace, "model"))
    message = str(refused.value)
    assert message.startswith("decoder: built by Holder.__init__ (a module outside the model) at ")
    assert "TextDecoderModified" in message and "Fix:" in message


TINY_SPEECHT5 = (
    "hidden_size=32 encoder_layers=2 decoder_layers=2 encoder_attention_heads=2 decoder_attention_heads=2 "
    "encoder_ffn_dim=37 decoder_ffn_dim=37 vocab_size=99"
)


def test_speecht5_speech_to_text_declares_its_text_decoder_where_the_model_builds_it():
    cells = zoo_cells.run_kind(
        ["speecht5"], "SpeechT5ForSpeechToText", "embedding", settings=tuple(TINY_SPEECHT5.split())
    )
    assert [(cell["mode"], cell["result"]) for cell in cells] == [("subclass", "pass"), ("vendor", "pass")], (
        cells
    )


FACTORY = """
from torch import nn


class Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.proj = nn.Linear(width, width)


def build_block(width):
    return Block(width * 2)


class Model(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.block = build_block(width)


model = Model(4)
model.block.proj = nn.Linear(8, 8, bias=False)
"""


def test_a_child_built_by_a_factory_is_built_by_its_recorded_call_not_by_swapping_the_factory(scripts, mode):
    script = scripts("factory.py", FACTORY)
    trace, roots, output = declared(script, mode)

    assert "self.block = BlockModified(8)" in root_init_statements(output)
    with imported_root(output, "model") as model_class:
        rebuilt = model_class(4)
    assert rebuilt.block.proj.in_features == 8 and rebuilt.block.proj.bias is None


PASS_THROUGH_FACTORY = """
from dataclasses import dataclass

from torch import nn


@dataclass
class Settings:
    width: int = 4


class Block(nn.Module):
    def __init__(self, settings):
        super().__init__()
        self.proj = nn.Linear(settings.width, settings.width)


def from_settings(settings):
    return Block(settings)


class Model(nn.Module):
    def __init__(self, settings):
        super().__init__()
        self.block = from_settings(settings)


model = Model(Settings())
model.block.proj = nn.Linear(4, 4, bias=False)
"""


def test_a_factory_that_passes_its_arguments_through_is_swapped_for_the_class(scripts, mode):
    # As AutoModel.from_config(config.encoder): the class was given what the factory was given.
    script = scripts("pass_through.py", PASS_THROUGH_FACTORY)
    trace, roots, output = declared(script, mode)

    assert "self.block = BlockModified(settings)" in root_init_statements(output)
