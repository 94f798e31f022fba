"""The edits of one module's generated class while they are being decided."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst
from torch import nn

from archit_codemod.declaration.planning.context import Planning
from archit_codemod.declaration.planning.plan import AppendStatement, Cause, Edit
from archit_codemod.declaration.planning.statements import InitStatements
from archit_codemod.declaration.rendering.render import RenderContext
from archit_codemod.declaration.sources.locate import ClassSource


@dataclass
class OwnerEdits:
    """What the generated class of ``module`` (found at ``path``) changes in its copied ``__init__``."""

    planning: Planning
    module: nn.Module
    path: str
    statements: InitStatements
    edits: list[Edit] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    causes: list[Cause] = field(default_factory=list)

    @property
    def self_name(self) -> str:
        return self.statements.self_name

    def context(self, path: str) -> RenderContext:
        return self.planning.context(self.module, path)

    def append_assignment(self, name: str, value: cst.BaseExpression) -> None:
        """``self.<name> = value`` at the end of ``__init__`` (``self.add_module("2", value)`` for a name that is
        no identifier, as the items of an ``nn.Sequential`` subclass have)."""
        if name.isidentifier():
            target = cst.Attribute(cst.Name(self.self_name), cst.Name(name))
            statement = cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(target)], value)])
        else:
            add = cst.Attribute(cst.Name(self.self_name), cst.Name("add_module"))
            call = cst.Call(add, [cst.Arg(cst.SimpleString(repr(name))), cst.Arg(value)])
            statement = cst.SimpleStatementLine([cst.Expr(call)])
        self.edits.append(AppendStatement(statement))

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
