"""What a generated subclass of a class whose ``__init__`` a class decorator wrapped carries.

The decorator's wrapper does work beside the ``__init__`` it wraps (the ``kernels`` package's
``use_kernelized_func`` gives each instance its kernel functions, which its wrapped ``forward`` reads). A subclass
that re-declares ``__init__`` carries the decorator, so that its own ``__init__`` is wrapped the same way. The
decorator also puts its wrappers of the other members in place on the subclass, around the original's wrappers:
wrapped twice. The subclass drops those and inherits the original's, wrapped once::

    @use_kernelized_func(apply_rotary_pos_emb)
    class LlamaAttentionModified(LlamaAttention):
        def __init__(self, config, layer_idx): ...


    # @use_kernelized_func(...) wrapped LlamaAttention's forward already: inherited, not wrapped twice.
    del LlamaAttentionModified.forward
"""

from __future__ import annotations

import libcst as cst

from archit_codemod.declaration.planning.plan import ClassPlan


def carried_decorators(plan: ClassPlan) -> tuple[cst.Decorator, ...]:
    """The class decorators the generated class of ``plan`` carries, when it is a subclass of the original."""
    return plan.init.fragments[0].wrapping_decorators


def inherited_again(plan: ClassPlan) -> list[cst.SimpleStatementLine]:
    """The statement after the generated subclass that drops the members its decorators wrapped a second time
    (none when they wrap ``__init__`` only)."""
    source = plan.init.fragments[0]
    members = source.rewrapped_members
    if not members:
        return []
    decorator = cst.Module([]).code_for_node(source.wrapping_decorators[0].decorator)
    shown = decorator if len(decorator) <= 40 else decorator.split("(", 1)[0] + "(...)"
    listed = ", ".join(members)
    comment = (
        f"# @{shown} wrapped {source.definer.__name__}'s {listed} already: inherited, not wrapped twice."
    )
    targets = ", ".join(f"{plan.name}.{member}" for member in members)
    statement = cst.parse_statement(f"del {targets}\n")
    blank = [cst.EmptyLine(indent=False), cst.EmptyLine(indent=False)]
    return [statement.with_changes(leading_lines=[*blank, cst.EmptyLine(comment=cst.Comment(comment))])]
