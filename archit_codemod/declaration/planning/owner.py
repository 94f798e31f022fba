"""What one planning decision reads about the module whose class it plans, and what it returns.

A decision (``plan_change``, ``plan_child_class``, ``plan_container``...) reads an :class:`Owner` (the module, its
path, the statements of the ``__init__`` its generated class copies, and the run's :class:`Planning`) and returns a
:class:`Decision`: the edits to that ``__init__``, the lines of the class's docstring, the traced statements behind
them, and the warnings for the user. :func:`~archit_codemod.declaration.planning.module_class.plan_class` adds the
decisions up.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst
from torch import nn

from archit_codemod.declaration.planning.context import Planning
from archit_codemod.declaration.planning.plan import AppendStatement, Cause, Edit
from archit_codemod.declaration.planning.statements import InitStatements
from archit_codemod.declaration.rendering.render import RenderContext
from archit_codemod.declaration.sources.locate import ClassSource


@dataclass(frozen=True)
class Decision:
    """What one decision says about a generated class: edits, docstring lines, causes, warnings."""

    edits: tuple[Edit, ...] = ()
    summary: tuple[str, ...] = ()
    """What changed, for the docstring: ``word_embeddings: CoolNewEmbeddingMatrix``."""
    causes: tuple[Cause, ...] = ()
    warnings: tuple[str, ...] = ()

    def __add__(self, other: Decision) -> Decision:
        return Decision(
            self.edits + other.edits,
            self.summary + other.summary,
            self.causes + other.causes,
            self.warnings + other.warnings,
        )


NOTHING = Decision()


@dataclass(frozen=True)
class Owner:
    """The module whose generated class is planned (found at ``path``), and the ``__init__`` that class copies."""

    planning: Planning
    module: nn.Module
    path: str
    statements: InitStatements

    @property
    def self_name(self) -> str:
        return self.statements.self_name

    def context(self, path: str) -> RenderContext:
        return self.planning.context(self.module, path)

    def assignment_after_body(self, name: str, value: cst.BaseExpression) -> AppendStatement:
        """``self.<name> = value`` at the end of ``__init__`` (``self.add_module("2", value)`` for a name that is
        no identifier, as the items of an ``nn.Sequential`` subclass have)."""
        if name.isidentifier():
            target = cst.Attribute(cst.Name(self.self_name), cst.Name(name))
            return AppendStatement(cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(target)], value)]))
        add = cst.Attribute(cst.Name(self.self_name), cst.Name("add_module"))
        call = cst.Call(add, [cst.Arg(cst.SimpleString(repr(name))), cst.Arg(value)])
        return AppendStatement(cst.SimpleStatementLine([cst.Expr(call)]))

    def source_for(self, statements: list) -> ClassSource:
        return self.statements.source_of(statements)

    def out_of_sight(self, path: str, name: str) -> str:
        """The warning for an attribute assigned after the body because no statement can be rewritten."""
        classes = " or ".join(f"{s.definer.__qualname__}.__init__" for s in self.statements.copy.fragments)
        return (
            f"{path}: no statement of {classes} assigns self.{name} in a form the codemod can rewrite; the "
            "generated __init__ assigns it after the original body instead, with the argument values of the "
            "traced run."
        )
