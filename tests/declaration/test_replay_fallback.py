"""A library call that, made again in a generated ``__init__``, leaves other modules than the script's call left is
refused for that call (so that ``generate_verified`` declares the structure it left instead); other differences
are not laid at its door."""

from __future__ import annotations

from archit_codemod.declaration.checking.compare import ABSENT, Difference
from archit_codemod.declaration.checking.verify import _replay_built_otherwise
from archit_codemod.declaration.emitting.output import Output
from archit_codemod.declaration.errors import ReplayError, VerificationError


def fuse_model(model, is_qat=None):
    """Stands for torchvision's ``fuse_model()``: what it fuses into depends on the model's mode."""


def _output(targets: tuple[str, ...]) -> Output:
    return Output(mode="subclass", files=(), roots={}, replays={fuse_model: targets})


def _failure(*differences: Difference) -> VerificationError:
    return VerificationError("Modified does not rebuild the traced model 'model'", differences)


def test_modules_that_differ_under_the_calls_targets_are_the_calls_refusal():
    failure = _failure(
        Difference("layer1.conv1", "class", expected="ConvReLU2d", got="ConvBnReLU2d"),
        Difference("layer1.conv2", "parameter", name="bias", expected=(64,), got=ABSENT),
    )
    refusal = _replay_built_otherwise("Modified", failure, _output(("layer1",)))
    assert isinstance(refusal, ReplayError)
    assert refusal.function is fuse_model
    assert "fuse_model(...)` (on layer1)" in str(refusal)
    assert "layer1.conv1" in str(refusal) and "2 in all" in str(refusal)


def test_the_root_as_target_covers_every_path():
    failure = _failure(Difference("layer1.bn1", "class", expected="Identity", got="BatchNorm2d"))
    assert _replay_built_otherwise("Modified", failure, _output(("",))) is not None


def test_a_module_outside_the_calls_targets_is_no_refusal_of_the_call():
    failure = _failure(
        Difference("layer1.conv1", "class", expected="ConvReLU2d", got="ConvBnReLU2d"),
        Difference("fc", "class", expected="Linear", got="Identity"),
    )
    assert _replay_built_otherwise("Modified", failure, _output(("layer1",))) is None
    # A sibling whose path only starts with the target's name is outside it.
    failure = _failure(Difference("layer10.conv1", "class", expected="ConvReLU2d", got="ConvBnReLU2d"))
    assert _replay_built_otherwise("Modified", failure, _output(("layer1",))) is None


def test_a_setting_that_differs_is_left_to_the_settings_set_again():
    failure = _failure(
        Difference("layer1.conv1", "class", expected="ConvReLU2d", got="ConvBnReLU2d"),
        Difference("layer1.dropout", "setting", name="p", expected=0.0, got=0.1),
    )
    assert _replay_built_otherwise("Modified", failure, _output(("layer1",))) is None
