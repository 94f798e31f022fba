"""Planning on its own: the ``Plan`` a script's changes give, asserted as before/after pairs of source.

Each edit is shown as ``(kind, what the original __init__ says, what the generated one says instead)``; the
emitters, tested elsewhere, only place these.
"""

from __future__ import annotations

import libcst as cst
import pytest

from archit_codemod.declaration.checking.completeness import check_completeness, roots_to_declare
from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.planning.plan import (
    AfterInit,
    AppendStatement,
    ClassPlan,
    Plan,
    RemoveAssignment,
    ReplaceValue,
    SwapCallee,
)
from archit_codemod.declaration.planning.planner import make_plan
from archit_codemod.declaration.script import ScriptSource
from archit_codemod.declaration.tracing.tracer import run_script

CLASSES = """
from torch import nn


class Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc = nn.Linear(width, width)
        self.act = nn.ReLU()
        self.norm = nn.LayerNorm(width)
        self.drop = nn.Dropout(0.1)


class Net(nn.Module):
    def __init__(self, width=4, depth=2):
        super().__init__()
        self.blocks = nn.ModuleList([Block(width) for _ in range(depth)])
        self.head = nn.Linear(width, 2)


model = Net()
"""


def planned(scripts, changes: str) -> Plan:
    trace = run_script(scripts("modify.py", CLASSES + changes))
    checked = check_completeness(trace, roots_to_declare(trace))
    script = ScriptSource.of(checked.trace, None)
    return make_plan(
        checked.trace, checked.roots, script, replayed=checked.replayed, settings=checked.settings
    )


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node).strip()


def before_after(plan: ClassPlan) -> list[tuple[str, str, str]]:
    """Each edit as ``(kind, before, after)``."""
    shown = []
    for edit in plan.edits:
        if isinstance(edit, ReplaceValue):
            shown.append(("replace", _code(edit.statement.value), _code(edit.value)))
        elif isinstance(edit, SwapCallee):
            shown.append(("swap", _code(edit.callee), edit.name))
        elif isinstance(edit, RemoveAssignment):
            shown.append(("remove", _code(edit.statement), ""))
        elif isinstance(edit, AppendStatement):
            shown.append(("append", "", _code(edit.statement)))
        elif isinstance(edit, AfterInit):
            shown.append(("after __init__", "", _code(edit.statement)))
    return shown


def by_original(plan: Plan) -> dict[str, ClassPlan]:
    return {class_plan.original.__name__: class_plan for class_plan in plan.classes}


def test_a_replaced_child_in_every_layer_gives_one_class_whose_statement_builds_the_new_module(scripts):
    plan = planned(scripts, "for block in model.blocks:\n    block.act = nn.GELU()\n")
    classes = by_original(plan)

    assert list(classes) == ["Block", "Net"]  # leaves first
    assert before_after(classes["Block"]) == [("replace", "nn.ReLU()", "nn.GELU()")]
    assert [str(instance) for instance in classes["Block"].instances] == ["blocks.0", "blocks.1"]
    # The comprehension keeps its loop: only the class it calls changes.
    assert before_after(classes["Net"]) == [
        (
            "replace",
            "nn.ModuleList([Block(width) for _ in range(depth)])",
            "nn.ModuleList([BlockModified(width) for _ in range(depth)])",
        )
    ]
    assert plan.roots["model"] is classes["Net"]
    assert classes["Block"].summary == ("act: GELU",)


def test_a_child_set_to_none_deleted_or_replaced_in_one_layer_only(scripts):
    changes = "model.blocks[1].drop = None\ndel model.blocks[1].norm\nmodel.head = nn.Linear(4, 3)\n"
    classes = by_original(planned(scripts, changes))

    # In the order of the module's children (the deleted one, no longer among them, last).
    assert before_after(classes["Block"]) == [
        ("replace", "nn.Dropout(0.1)", "None"),
        ("remove", "self.norm = nn.LayerNorm(width)", ""),
    ]
    assert [str(instance) for instance in classes["Block"].instances] == ["blocks.1"]
    # Only the second item is of the generated class: the comprehension picks per index.
    [(kind, before, after), head] = before_after(classes["Net"])
    assert (kind, before) == ("replace", "nn.ModuleList([Block(width) for _ in range(depth)])")
    assert "BlockModified(width) if" in after and "else Block(width)" in after
    assert head == ("replace", "nn.Linear(width, 2)", "nn.Linear(width, 3)")


def test_a_setting_changed_in_place_is_set_again_after_init(scripts):
    classes = by_original(planned(scripts, "model.blocks[0].drop.p = 0.0\n"))

    assert list(classes) == ["Net"]
    assert before_after(classes["Net"]) == [("after __init__", "", "self.blocks[0].drop.p = 0.0")]
    [cause] = classes["Net"].causes
    assert (cause.path, cause.where) == ("blocks.0.drop.p", "the script")


def test_a_replaced_child_that_another_module_builds_is_refused_by_path(scripts):
    # The head is built by Net's __init__ and also held by the first block: one object at two paths.
    with pytest.raises(DeclarationError, match="blocks.0.shared and head are the same Linear object"):
        planned(scripts, "model.head = nn.Linear(4, 3)\nmodel.blocks[0].shared = model.head\n")
