"""Whether a generated class builds a module as it is, although its plan has edits the module's own plan has not.

Layers of one class differ when their ``__init__`` takes a branch by argument: GLPN's and PVT's self-attention
builds ``self.layer_norm`` only when ``sequence_reduction_ratio > 1``. Replacing every norm then changes that
attribute in some stages only, and their layers would get two generated classes, which a loop that builds them
all cannot tell apart. One class serves both when each edit the other module's plan lacks does nothing to it:

- a replaced value of ``self.<attribute>`` the module does not hold (the assignment did not run for it);
- a generated class swapped in for a call whose children of that class, in the module, are all built by that
  generated class as they are (the same question, one level down).

Anything else (a removed assignment, a statement added, a class member) must be the same in both plans.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from torch import nn

from archit_codemod.declaration.planning.plan import ClassPlan, Edit, ReplaceValue, SwapCallee
from archit_codemod.declaration.tracing.changes import is_container


def covers(
    plan: ClassPlan,
    module: nn.Module,
    own_edits: tuple[Edit, ...],
    *,
    plan_named: Callable[[str], ClassPlan | None],
    name_of: Callable[[nn.Module], str | None],
) -> bool:
    """Whether ``plan``'s class, built as ``module`` was, builds it as ``own_edits`` (its own plan's) would.

    ``plan_named`` finds a generated class's plan by name; ``name_of`` the generated class a module got, if any.
    """
    if type(module) is not plan.original:
        return False
    own = {edit.key for edit in own_edits}
    planned = {edit.key: edit for edit in plan.edits}
    if not own <= planned.keys():
        return False
    return all(
        key in own or _does_nothing_to(edit, module, plan_named=plan_named, name_of=name_of)
        for key, edit in planned.items()
    )


def _does_nothing_to(
    edit: Edit,
    module: nn.Module,
    *,
    plan_named: Callable[[str], ClassPlan | None],
    name_of: Callable[[nn.Module], str | None],
) -> bool:
    if isinstance(edit, ReplaceValue):
        return not _holds(module, edit.attribute)
    if not isinstance(edit, SwapCallee):
        return False
    swapped = plan_named(edit.name)
    if swapped is None or swapped.members:
        return False
    return all(
        name_of(child) == edit.name
        or (name_of(child) is None and covers(swapped, child, (), plan_named=plan_named, name_of=name_of))
        for child in _built_by(module)
        if isinstance(child, swapped.original)
    )


def _holds(module: nn.Module, attribute: str) -> bool:
    """Whether ``module`` has ``attribute`` in any of its stores (``None`` counts: the assignment ran)."""
    return any(
        attribute in store for store in (module._modules, module._parameters, module._buffers, vars(module))
    )


def _built_by(module: nn.Module) -> Iterator[nn.Module]:
    """The modules ``module``'s ``__init__`` builds: its children, and the items of its containers."""
    for child in module._modules.values():
        if child is None:
            continue
        if is_container(child):
            yield from _built_by(child)
        else:
            yield child
