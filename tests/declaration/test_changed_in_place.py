"""A module changed in place (no assignment the tracer sees) is declared by the call its class builds it with now,
read back from its attributes, when that call builds it as it is; otherwise refused by path."""

from __future__ import annotations

import pytest
import torch
from output_support import declared, output_text, rebuilt_root
from torch import nn

from archit_codemod.declaration.api import generate, generate_verified
from archit_codemod.declaration.checking.completeness import roots_to_declare
from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.rendering.rebuild import read_back
from archit_codemod.declaration.tracing.tracer import run_script

SHRUNK = """
import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.up = nn.Linear(width, 4 * width)
        self.norm = nn.GroupNorm(4, 4 * width)
        self.down = nn.Linear(4 * width, width)

    def forward(self, x):
        return self.down(self.norm(self.up(x)))


torch.manual_seed(0)
model = Block(8)
# A structured pruner keeps half of the hidden units: new tensors, sizes rewritten, no module assigned.
keep = torch.arange(16)
with torch.no_grad():
    model.up.weight = nn.Parameter(model.up.weight[keep])
    model.up.bias = nn.Parameter(model.up.bias[keep])
    model.up.out_features = 16
    model.norm.weight = nn.Parameter(model.norm.weight[keep])
    model.norm.bias = nn.Parameter(model.norm.bias[keep])
    model.norm.num_channels = 16
    model.down.weight = nn.Parameter(model.down.weight[:, keep])
    model.down.in_features = 16
model(torch.ones(2, 8))
"""


def test_layers_shrunk_in_place_are_built_by_their_classes_with_the_sizes_they_have_now(scripts, mode):
    trace, roots, output = declared(scripts("shrunk.py", SHRUNK), mode)

    text = output_text(output)
    assert "self.up = nn.Linear(width, 16)" in text
    assert "self.norm = nn.GroupNorm(4, 16)" in text
    assert "self.down = nn.Linear(16, width)" in text
    traced = roots["model"]
    with rebuilt_root(output, trace, traced) as rebuilt:
        rebuilt.load_state_dict(traced.state_dict(), strict=True)
        x = torch.ones(2, 8)
        assert torch.equal(rebuilt(x), traced(x))


def test_read_back_gives_the_arguments_only_when_they_build_the_module_as_it_is():
    linear = nn.Linear(8, 32, bias=False)
    assert read_back(linear) == ((8, 32), {"bias": False})
    conv = nn.Conv2d(3, 16, kernel_size=3, stride=2, padding=1)
    assert read_back(conv) == ((3, 16, (3, 3)), {"stride": (2, 2), "padding": (1, 1)})
    # A weight replaced without updating the size it is read back from: the class would build another tensor.
    linear.weight = nn.Parameter(torch.zeros(16, 8))
    assert read_back(linear) is None


def test_a_module_changed_in_place_whose_arguments_do_not_read_back_is_refused_by_path(scripts):
    source = SHRUNK.replace("    model.down.in_features = 16\n", "")
    trace = run_script(scripts("half_done.py", source.replace("model(torch.ones(2, 8))\n", "")))
    with pytest.raises(DeclarationError) as refused:
        generate(trace, roots_to_declare(trace))
    assert "down.weight: parameter shape (8, 16), original (8, 32)" in str(refused.value)


FUSED = """
import torch
from torch import nn
from torch.ao.quantization import fuse_modules


class Stem(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


torch.manual_seed(0)
model = Stem().eval()
fuse_modules(model, [["conv", "bn", "relu"]], inplace=True)
model(torch.ones(1, 3, 8, 8))
"""


def test_a_call_that_cannot_be_made_again_is_declared_by_the_structure_it_left(scripts, mode):
    # fuse_modules folds the norm into the convolution, and only in eval mode: made again in a training-mode
    # __init__ it fails. Declared module by module instead: the fused module built from the convolution it holds
    # (which gained a bias), the norm and the activation as Identity.
    trace = run_script(scripts("fused.py", FUSED))
    roots = roots_to_declare(trace)
    output = generate_verified(trace, roots, mode=mode)

    text = output_text(output)
    assert "self.conv = ConvReLU2d(nn.Conv2d(3, 8, (3, 3), padding=(1, 1)), nn.ReLU())" in text
    assert "self.bn = nn.Identity()" in text and "self.relu = nn.Identity()" in text
    assert "fuse_modules(" not in text
    traced = roots["model"]
    with rebuilt_root(output, trace, traced) as rebuilt:
        rebuilt.load_state_dict(traced.state_dict(), strict=True)
        rebuilt.eval()
        x = torch.ones(1, 3, 8, 8)
        assert torch.equal(rebuilt(x), traced(x))


CLONED = """
import io

import torch
from torch import nn
from transformers import BertConfig, BertModel

config = BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37, vocab_size=99)
original = BertModel(config)
# A fixer that clones the model by pickling (no constructor runs) and writes its replacements into _modules.
with io.BytesIO() as buffer:
    torch.save(original, buffer)
    buffer.seek(0)
    model = torch.load(buffer, weights_only=False)
for layer in model.encoder.layer:
    layer.output._modules["LayerNorm"] = nn.RMSNorm(32)
"""


def test_a_clone_unpickled_and_edited_is_declared_as_its_class_builds_it(scripts, mode):
    # No call built the clone's modules: they are built as the original class builds them at their paths, and the
    # norms put in their place by their own constructor calls.
    trace = run_script(scripts("cloned.py", CLONED))
    roots = roots_to_declare(trace)
    output = generate_verified(trace, roots, mode=mode)

    assert "self.LayerNorm = nn.RMSNorm(config.hidden_size)" in output_text(output)
    traced = roots["model"]
    with rebuilt_root(output, trace, traced) as rebuilt:
        rebuilt.load_state_dict(traced.state_dict(), strict=True)
        assert type(rebuilt.encoder.layer[1].output.LayerNorm) is nn.RMSNorm
