"""What to generate, as plain data: the output of planning and the input of both emitters.

A :class:`Plan` lists the classes to generate. Each :class:`ClassPlan` names the original class, the
``__init__`` to copy (:class:`~archit_codemod.declaration.sources.inline.InitCopy`: the class that defines it, with the
ancestor bodies it inlines), and the edits to make in that copy. Edits are keyed by the nodes of the original,
parsed source (LibCST nodes compare by identity), so the subclass emitter can apply them to a copy of the
``__init__`` and the vendor emitter to the original file in place, without either undoing the other's work.

Every expression in an edit is final: it names the generated classes it builds by their final names. Planning
renders and names everything before any class is assembled.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import libcst as cst

from archit_codemod.declaration.rendering.names import NameTable
from archit_codemod.declaration.script import ScriptSource
from archit_codemod.declaration.sources.inline import InitCopy

Assignment = cst.Assign | cst.AnnAssign

Placement = Literal["in place", "before post_init", "after __init__"]
"""Where an edit takes effect: on nodes of the copied ``__init__`` (``editing.edits.IN_PLACE``), at the end of it
before a trailing ``self.post_init()``, or once it has finished."""


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


@dataclass(frozen=True, eq=False)
class ReplaceValue:
    """The value ``statement`` assigns to ``self.<attribute>`` becomes ``value``.

    ``statement`` may assign several targets (``self.a, self.b = A(), B()``): only ``attribute``'s value changes.
    """

    placement: ClassVar[Placement] = "in place"
    statement: Assignment
    attribute: str
    value: cst.BaseExpression

    @functools.cached_property
    def key(self) -> tuple:
        """What makes two edits the same (the original node by identity, the new code by text)."""
        return ("replace", self.statement, self.attribute, _code(self.value))

    def with_rendered(self, transformer: cst.CSTTransformer) -> ReplaceValue:
        """The edit with ``transformer`` applied to the code it brings (not to the original node it edits)."""
        return dataclasses.replace(self, value=self.value.visit(transformer))


@dataclass(frozen=True, eq=False)
class SwapCallee:
    """The class a call names (``callee``, a ``Name`` or ``Attribute`` node) becomes the generated class ``name``."""

    placement: ClassVar[Placement] = "in place"
    callee: cst.BaseExpression
    name: str

    @functools.cached_property
    def key(self) -> tuple:
        return ("swap", self.callee, self.name)

    def with_rendered(self, transformer: cst.CSTTransformer) -> SwapCallee:
        return self


@dataclass(frozen=True, eq=False)
class RemoveAssignment:
    """``statement`` (assigning ``self.<attribute>``) is removed: the attribute is declared absent."""

    placement: ClassVar[Placement] = "in place"
    statement: Assignment

    @functools.cached_property
    def key(self) -> tuple:
        return ("remove", self.statement)

    def with_rendered(self, transformer: cst.CSTTransformer) -> RemoveAssignment:
        return self


@dataclass(frozen=True, eq=False)
class AppendStatement:
    """``statement`` runs at the end of ``__init__``, before a trailing ``self.post_init()``."""

    placement: ClassVar[Placement] = "before post_init"
    statement: cst.BaseStatement

    @functools.cached_property
    def key(self) -> tuple:
        return ("append", _code(self.statement))

    def with_rendered(self, transformer: cst.CSTTransformer) -> AppendStatement:
        return dataclasses.replace(self, statement=self.statement.visit(transformer))


@dataclass(frozen=True, eq=False)
class AfterInit:
    """``statement`` runs once the original ``__init__`` is done, ``self.post_init()`` included: a library call
    made again on the finished model (``inject_adapter_in_model(config, self)``), a setting or attribute set again,
    a replacement ``post_init`` would change."""

    placement: ClassVar[Placement] = "after __init__"
    statement: cst.BaseStatement
    targets: tuple[str, ...] = ()
    """Paths (from the root) of the modules the statement changes, to name them when it cannot be made again."""
    replays: Callable[..., Any] | None = None
    """The library function the statement calls to make a recorded call again (``inject_adapter_in_model``);
    ``None`` for an assignment."""

    @functools.cached_property
    def key(self) -> tuple:
        return ("after", _code(self.statement))

    def with_rendered(self, transformer: cst.CSTTransformer) -> AfterInit:
        return dataclasses.replace(self, statement=self.statement.visit(transformer))


Edit = ReplaceValue | SwapCallee | RemoveAssignment | AppendStatement | AfterInit


@dataclass(frozen=True, eq=False)
class ClassMember:
    """A class attribute or method that the generated class defines beside ``__init__`` (``_tied_weights_keys``).

    ``name`` is the member's name: it replaces a member of that name where the class defines one.
    """

    name: str
    statement: cst.BaseStatement


@dataclass(frozen=True)
class Instance:
    """One module a generated class declares: its root model's name and its path from that root."""

    root: str
    path: str

    def __str__(self) -> str:
        return self.path or "<root>"


@dataclass(frozen=True)
class Cause:
    """A traced change a generated class declares: the changed child's path and the statement that made it."""

    path: str
    where: str


@dataclass(frozen=True, eq=False)
class ClassPlan:
    """One generated class: ``class <name>(<original>)`` whose ``__init__`` is ``init`` with ``edits`` made."""

    name: str
    original: type
    init: InitCopy
    edits: tuple[Edit, ...]
    members: tuple[ClassMember, ...]
    summary: tuple[str, ...]
    """What changed, for the docstring: ``word_embeddings: CoolNewEmbeddingMatrix``."""
    instances: tuple[Instance, ...]
    causes: tuple[Cause, ...]

    @property
    def docstring(self) -> str:
        counts = {entry: self.summary.count(entry) for entry in self.summary}
        shown = [entry if count == 1 else f"{entry} ({count} times)" for entry, count in counts.items()]
        changes = "; ".join(shown) if shown else "no direct change"
        return f"{self.original.__name__} with {changes}. Generated by archit_codemod."


@dataclass(frozen=True, eq=False)
class Plan:
    """Everything one run generates, before any file exists.

    ``classes`` are ordered so that each is defined before a class that builds it (leaves first).
    ``roots`` maps each root model's name to its generated class. ``names`` holds the imports and script
    definitions that the rendered expressions need; an emitter extends a copy of it with what the copied
    ``__init__`` bodies need. ``kept_originals`` counts, for each class that got a generated version, the
    modules of the roots that keep the original class (a vendored file can rename a class only when none do).
    """

    classes: tuple[ClassPlan, ...]
    roots: dict[str, ClassPlan]
    names: NameTable
    script: ScriptSource
    suffix: str
    kept_originals: dict[type, int]
    warnings: tuple[str, ...] = ()
    """What planning tells the user (a statement it could not rewrite, a class an expression picked)."""

    @property
    def replays(self) -> dict[Callable[..., Any], tuple[str, ...]]:
        """Each library function the generated classes call to make a recorded call again -> the paths of the
        modules such calls change (to name them when one fails)."""
        targets: dict[Callable[..., Any], list[str]] = {}
        for class_plan in self.classes:
            for edit in class_plan.edits:
                if edit.placement == "after __init__" and edit.replays is not None:
                    targets.setdefault(edit.replays, []).extend(edit.targets)
        return {function: tuple(dict.fromkeys(paths)) for function, paths in targets.items()}
