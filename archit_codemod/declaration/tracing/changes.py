"""Reduce a trace's modification log to the net change of each ``(owner, child name)``.

A script may assign the same attribute several times; what matters is the child the owner holds now,
compared with the one it held before its first modification.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from torch import nn

from archit_codemod.declaration.records import Modification, Trace

CONTAINERS = (nn.ModuleList, nn.Sequential, nn.ModuleDict)


@dataclass(eq=False)
class Change:
    """The net change of ``owner.<name>``: ``old`` before the first modification, ``new`` now."""

    kind: Literal["set", "delete", "add"]
    owner: nn.Module
    name: str
    old: nn.Module | None
    new: nn.Module | None
    first: Modification

    @property
    def where(self) -> str:
        """The statement that made the change, for messages: the user's line when known."""
        modification = self.first
        if modification.user_filename:
            return f"{modification.user_filename}:{modification.user_lineno}"
        return f"{modification.filename}:{modification.lineno}"


Changes = dict[nn.Module, dict[str, Change]]
"""``owner -> {child name: Change}`` (modules hash by identity)."""


def net_changes(trace: Trace) -> Changes:
    """``owner -> {child name: Change}`` for every child whose final state differs from its original."""
    first_of: dict[tuple[nn.Module, str], Modification] = {}
    for modification in trace.modifications:
        first_of.setdefault((modification.owner, modification.name), modification)
    changes: Changes = {}
    for (owner, name), first in first_of.items():
        present = name in owner._modules
        new = owner._modules.get(name)
        if first.kind == "add":
            if not present:
                continue
            change = Change("add", owner, name, None, new, first)
        elif not present:
            change = Change("delete", owner, name, first.old, None, first)
        elif new is first.old:
            continue
        else:
            change = Change("set", owner, name, first.old, new, first)
        changes.setdefault(owner, {})[name] = change
    return changes


def changes_without(changes: Changes, dropped: Callable[[Change], bool]) -> Changes:
    """``changes`` without those ``dropped`` accepts; an owner left with none is left out."""
    kept: Changes = {}
    for owner, owner_changes in changes.items():
        rest = {name: change for name, change in owner_changes.items() if not dropped(change)}
        if rest:
            kept[owner] = rest
    return kept


def is_container(module: object) -> bool:
    """A plain ``ModuleList``/``Sequential``/``ModuleDict`` (declared by its parent, not by a class of its own)."""
    return type(module) in CONTAINERS
