"""The ``__init__`` of a generated class: the copied ``__init__`` parts, edited, merged, and laid out."""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from archit_codemod.declaration.editing.edits import append_statements
from archit_codemod.declaration.editing.layout import LayoutRewritten, original_statements, statement_nodes
from archit_codemod.declaration.planning.plan import ClassPlan
from archit_codemod.declaration.sources.locate import ClassSource

CLASS_INDENT = 4
"""Indentation of a class body: generated and vendored classes are defined at the top level."""

PartRewrite = Callable[[int, ClassSource, cst.FunctionDef], cst.FunctionDef]


def build_init(
    plan: ClassPlan,
    rewrite_part: PartRewrite,
    unchanged: Callable[[cst.FunctionDef], cst.FunctionDef] | None = None,
) -> cst.FunctionDef:
    """``plan``'s ``__init__``: each part rewritten by ``rewrite_part`` (which makes the plan's edits), the parts
    merged, the appended statements added before ``self.post_init()``, the rewritten statements laid out.

    A statement is laid out when it differs from every original statement (passed through ``unchanged``, which
    makes the changes that keep a statement as written: a vendored file's renamed references).
    """
    function = plan.init.function(rewrite_part)
    function = append_statements(function, plan.edits, plan.init.fragments[0].self_name)
    parts = [fragment.init_def for fragment in plan.init.fragments]
    if unchanged is not None:
        return function.visit(
            LayoutRewritten(original_statements(map(unchanged, parts)), indent=CLASS_INDENT)
        )
    nodes = frozenset().union(*map(statement_nodes, parts))
    return function.visit(
        LayoutRewritten(original_statements(parts), indent=CLASS_INDENT, original_nodes=nodes)
    )
