"""Name the generated classes, and give one class to every module whose plan is the same.

Two modules of one class whose ``__init__`` gets the same edits (every layer with the same LoRA wrappers) share
one generated class, ``BertSelfAttentionModified``; the same class changed differently at different places gets
numbered classes (``...Modified``, ``...Modified2``). Plans compare by their edits' code, before any class exists.
A module whose plan lacks edits that do nothing to it shares the class of a plan that has them (:mod:`.covering`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import libcst as cst
from torch import nn

from archit_codemod.declaration.planning.covering import covers
from archit_codemod.declaration.planning.plan import (
    ClassPlan,
    Edit,
    Instance,
)
from archit_codemod.declaration.rendering.names import NameTable


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


@dataclass
class ClassNamer:
    """The generated classes so far, by module and by fingerprint, and the names they took."""

    names: NameTable
    suffix: str
    classes: list[ClassPlan] = field(default_factory=list)
    _by_fingerprint: dict[tuple, int] = field(default_factory=dict)
    _of_module: dict[nn.Module, int] = field(default_factory=dict)
    _modules: list[list[nn.Module]] = field(default_factory=list)
    """The modules of each class, by index."""
    _fingerprints: list[tuple] = field(default_factory=list)
    """The fingerprint of each class, by index."""

    def name_of(self, module: nn.Module) -> str | None:
        """The generated class that declares ``module``, ``None`` when its own class is used as is."""
        index = self._of_module.get(module)
        return None if index is None else self.classes[index].name

    def plan_of(self, module: nn.Module) -> ClassPlan | None:
        index = self._of_module.get(module)
        return None if index is None else self.classes[index]

    def add_instance(self, module: nn.Module, instance: Instance) -> bool:
        """Record another place of a module planned already; whether it was planned."""
        index = self._of_module.get(module)
        if index is None:
            return False
        plan = self.classes[index]
        if instance not in plan.instances:
            self.classes[index] = replace(plan, instances=(*plan.instances, instance))
        return True

    def add(self, module: nn.Module, draft: ClassPlan) -> ClassPlan:
        """The class for ``module`` planned as ``draft`` (its name not chosen yet): an equal one, one that builds
        ``module`` as ``draft`` would, one whose modules ``draft`` builds as they are (it takes ``draft``'s edits and
        keeps its name, which its owners' plans already use), or ``draft`` named."""
        key = self._fingerprint(draft)
        index = self._by_fingerprint.get(key)
        if index is None:
            index = self._covering(module, draft, key)
        if index is None:
            index = self._widened_by(draft, key)
        if index is None:
            index = len(self.classes)
            self.classes.append(replace(draft, name=self._fresh_name(draft.original.__name__)))
            self._modules.append([])
            self._fingerprints.append(key)
            self._by_fingerprint[key] = index
        else:
            plan = self.classes[index]
            self.classes[index] = replace(
                plan,
                instances=(*plan.instances, *draft.instances),
                causes=(*plan.causes, *(c for c in draft.causes if c not in plan.causes)),
            )
        self._of_module[module] = index
        self._modules[index].append(module)
        return self.classes[index]

    def _covering(self, module: nn.Module, draft: ClassPlan, key: tuple) -> int | None:
        """A class that builds ``module`` as ``draft`` (whose fingerprint is ``key``) would."""
        return next((i for i in self._alike(key) if self._covers(self.classes[i], module, draft.edits)), None)

    def _widened_by(self, draft: ClassPlan, key: tuple) -> int | None:
        """A class whose every module ``draft`` builds as it is, given ``draft``'s edits; ``None`` when none is."""
        for index in self._alike(key):
            edits = self.classes[index].edits
            if all(self._covers(draft, module, edits) for module in self._modules[index]):
                del self._by_fingerprint[self._fingerprints[index]]
                self.classes[index] = replace(self.classes[index], edits=draft.edits, summary=draft.summary)
                self._fingerprints[index] = key
                self._by_fingerprint[key] = index
                return index
        return None

    def _alike(self, key: tuple) -> list[int]:
        """The classes of the original class, ``__init__`` and members of the plan whose fingerprint is ``key``:
        those that may build its module."""
        kind = _without_edits(key)
        return [index for index, known in enumerate(self._fingerprints) if _without_edits(known) == kind]

    def _fingerprint(self, plan: ClassPlan) -> tuple:
        """What makes two plans the same class: the class, the ``__init__`` copied, the edits and the members."""
        return (
            plan.original,
            tuple(source.init_def for source in plan.init.fragments),
            tuple(edit.key for edit in plan.edits),
            tuple((member.name, _code(member.statement)) for member in plan.members),
        )

    def _covers(self, plan: ClassPlan, module: nn.Module, own_edits: tuple[Edit, ...]) -> bool:
        return covers(plan, module, own_edits, plan_named=self._plan_named, name_of=self.name_of)

    def _plan_named(self, name: str) -> ClassPlan | None:
        return next((plan for plan in self.classes if plan.name == name), None)

    def _fresh_name(self, base: str) -> str:
        name = f"{base}{self.suffix}"
        number = 2
        while self.names.is_taken(name):
            name = f"{base}{self.suffix}{number}"
            number += 1
        self.names.reserve_local(name)
        return name


def _without_edits(key: tuple) -> tuple:
    original, init, _, members = key
    return original, init, members
