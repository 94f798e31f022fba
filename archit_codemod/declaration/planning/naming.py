"""Name the generated classes, and give one class to every module whose plan is the same.

Two modules of one class whose ``__init__`` gets the same edits (every layer with the same LoRA wrappers) share
one generated class, ``BertSelfAttentionModified``; the same class changed differently at different places gets
numbered classes (``...Modified``, ``...Modified2``). Plans compare by their edits' code, before any class exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import libcst as cst
from torch import nn

from archit_codemod.declaration.planning.plan import (
    AfterInit,
    AppendStatement,
    ClassPlan,
    Edit,
    Instance,
    RemoveAssignment,
    ReplaceValue,
    SwapCallee,
)
from archit_codemod.declaration.rendering.names import NameTable


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def fingerprint(plan: ClassPlan) -> tuple:
    """What makes two plans the same class: the class, the ``__init__`` copied, the edits and the members."""
    return (
        plan.original,
        tuple(id(source.init_def) for source in plan.init.fragments),
        tuple(_edit_key(edit) for edit in plan.edits),
        tuple((member.name, _code(member.statement)) for member in plan.members),
    )


def _edit_key(edit: Edit) -> tuple:
    if isinstance(edit, ReplaceValue):
        return ("replace", id(edit.statement), edit.attribute, _code(edit.value))
    if isinstance(edit, SwapCallee):
        return ("swap", id(edit.callee), edit.name)
    if isinstance(edit, RemoveAssignment):
        return ("remove", id(edit.statement))
    if isinstance(edit, AppendStatement):
        return ("append", _code(edit.statement))
    if isinstance(edit, AfterInit):
        return ("after", _code(edit.statement))
    raise TypeError(f"unknown edit {edit!r}")


@dataclass
class ClassNamer:
    """The generated classes so far, by module and by fingerprint, and the names they took."""

    names: NameTable
    suffix: str
    classes: list[ClassPlan] = field(default_factory=list)
    _by_fingerprint: dict[tuple, int] = field(default_factory=dict)
    _of_module: dict[int, int] = field(default_factory=dict)

    def name_of(self, module: nn.Module) -> str | None:
        """The generated class that declares ``module``, ``None`` when its own class is used as is."""
        index = self._of_module.get(id(module))
        return None if index is None else self.classes[index].name

    def plan_of(self, module: nn.Module) -> ClassPlan | None:
        index = self._of_module.get(id(module))
        return None if index is None else self.classes[index]

    def add_instance(self, module: nn.Module, instance: Instance) -> bool:
        """Record another place of a module planned already; whether it was planned."""
        index = self._of_module.get(id(module))
        if index is None:
            return False
        plan = self.classes[index]
        if instance not in plan.instances:
            self.classes[index] = replace(plan, instances=(*plan.instances, instance))
        return True

    def add(self, module: nn.Module, draft: ClassPlan) -> ClassPlan:
        """The class for ``module`` planned as ``draft`` (its name not chosen yet): an equal one, or ``draft`` named."""
        key = fingerprint(draft)
        index = self._by_fingerprint.get(key)
        if index is None:
            index = len(self.classes)
            self.classes.append(replace(draft, name=self._fresh_name(draft.original.__name__)))
            self._by_fingerprint[key] = index
        else:
            plan = self.classes[index]
            self.classes[index] = replace(
                plan,
                instances=(*plan.instances, *draft.instances),
                causes=(*plan.causes, *(c for c in draft.causes if c not in plan.causes)),
            )
        self._of_module[id(module)] = index
        return self.classes[index]

    def _fresh_name(self, base: str) -> str:
        name = f"{base}{self.suffix}"
        number = 2
        while self.names.is_taken(name):
            name = f"{base}{self.suffix}{number}"
            number += 1
        self.names.reserve_local(name)
        return name
