"""Verification compares classes faithfully: by identity, by original class, or by the copied script code."""

from __future__ import annotations

from torch import nn
from torch.nn.utils import parametrizations

from archit_codemod.declaration.checking.verify import compare_trees


def holder(act: nn.Module) -> nn.Module:
    model = nn.Module()
    model.act = act
    return model


def script_class(name: str, base: type, module: str, source: str = "") -> type:
    """A class as a script would define it: ``class <name>(<base>)`` with ``source`` as its body."""
    namespace = {"base": base, "__name__": module}
    exec(f"class {name}(base):\n    pass\n{source}", namespace)
    return namespace[name]


def test_a_copied_script_class_with_another_base_is_a_difference():
    traced = holder(script_class("Gen", nn.Tanh, "__main__")())
    built = holder(script_class("Gen", nn.ReLU, "generated")())
    differences = compare_trees(built, traced, original_of={}, script_module_name="__main__")
    assert differences == ["act: generated Gen, traced Gen"]


def test_a_copied_script_class_with_other_code_is_a_difference():
    body = "    def forward(self, x):\n        return x * {}\n"
    namespace: dict = {"nn": nn}
    exec("class Gen(nn.Module):\n" + body.format(2), namespace)
    namespace["Gen"].__module__ = "__main__"
    exec("class Gen(nn.Module):\n" + body.format(3), other := {"nn": nn})
    exec("class Gen(nn.Module):\n" + body.format(2), same := {"nn": nn})
    traced = holder(namespace["Gen"]())
    assert compare_trees(holder(same["Gen"]()), traced, original_of={}, script_module_name="__main__") == []
    assert compare_trees(holder(other["Gen"]()), traced, original_of={}, script_module_name="__main__") != []


def test_an_imported_class_must_be_the_same_class():
    impostor = type("ReLU", (nn.Module,), {"__module__": "torch.nn.modules.activation"})
    differences = compare_trees(
        holder(impostor()), holder(nn.ReLU()), original_of={}, script_module_name="__main__"
    )
    assert differences == ["act: generated ReLU, traced ReLU"]


def test_parametrized_modules_compare_by_the_class_they_parametrize():
    # Each weight-normed module gets its own fresh ParametrizedConv1d class.
    traced = holder(parametrizations.weight_norm(nn.Conv1d(2, 2, 3)))
    built = holder(parametrizations.weight_norm(nn.Conv1d(2, 2, 3)))
    assert type(traced.act) is not type(built.act)
    assert compare_trees(built, traced, original_of={}, script_module_name="__main__") == []
    other = holder(parametrizations.weight_norm(nn.Conv2d(2, 2, 3)))
    assert compare_trees(other, traced, original_of={}, script_module_name="__main__") != []
