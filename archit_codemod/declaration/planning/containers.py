"""Decide the edits for a ``ModuleList``/``Sequential``/``ModuleDict`` whose items changed.

The container's construction expression in its owner's ``__init__`` is rewritten item by item
(:func:`~archit_codemod.declaration.editing.containers.rewrite_container`): a comprehension keeps its loop and
picks per index, a literal list rewrites its elements. A container nested in it (a ``ModuleList`` of
``ModuleList``s) whose items changed is rewritten the same way inside the outer item's expression. What it cannot
rewrite is refused, or, for replaced items of a container built out of sight, assigned after the body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import libcst as cst
import libcst.matchers as m
from torch import nn

from archit_codemod.declaration.editing.containers import rewrite_container
from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.planning.children import swapped_expression
from archit_codemod.declaration.planning.context import resolves_to
from archit_codemod.declaration.planning.owner import NOTHING, Decision, Owner
from archit_codemod.declaration.planning.plan import (
    AppendStatement,
    Cause,
    ClassPlan,
    ReplaceValue,
    SwapCallee,
)
from archit_codemod.declaration.planning.walk import join
from archit_codemod.declaration.sources.locate import ClassSource
from archit_codemod.declaration.tracing.changes import Change, is_container


@dataclass(frozen=True)
class NestedItems:
    """A container held as an item of another whose own items changed: its item plans, and its keys."""

    container: nn.Module
    planned: dict[str, ItemPlan]
    keys: list[str]


ItemPlan = Change | ClassPlan | NestedItems


def plan_container(owner: Owner, name: str, container: nn.Module, path: str) -> Decision:
    """The decision declaring the changed items of ``owner.module.<name>``."""
    planning = owner.planning
    item_changes = planning.changes.get(container, {})
    layout = _container_layout(container, item_changes, path)
    planned = _planned_items(owner, container, item_changes, path)
    if not planned and not layout.dropped and not layout.removed_keys and not layout.rebuilt:
        return NOTHING
    causes = Decision(causes=tuple(_causes(planned, item_changes, path)))
    statements = owner.statements.rewritable(name, planning.call_of(container))
    if layout.rebuilt:
        # Items removed from the middle, inserted or reordered: the container is built with its items as they
        # are now, each by its own constructor call (BertLayer(config, layer_idx=1) first).
        value = planning.renderer.container(container, owner.context(path), name)
        edits = tuple(ReplaceValue(statement, name, value) for statement in statements)
        summary = (f"{name}: {type(container).__name__} of its items as the script left them",)
        return causes + Decision(edits, summary)
    source = owner.source_for(statements)
    warnings: list[str] = []

    def item_expression(key: str, original: cst.BaseExpression | None) -> cst.BaseExpression:
        expression, picked = _item_expression(
            owner, container, planned, key, original, source, join(path, key), name
        )
        warnings.extend(picked)
        return expression

    appended = [item_expression(key, None) for key in layout.appended_keys]
    rewritten = []
    for statement in statements:
        value = rewrite_container(
            statement.value,
            layout.kept_keys,
            item_expression,
            items_as_arguments=isinstance(container, nn.Sequential),
            appended=appended,
            dropped=layout.dropped,
            removed_keys=layout.removed_keys,
            appended_keys=layout.appended_keys if isinstance(container, nn.ModuleDict) else (),
        )
        if value is not None:
            rewritten.append(ReplaceValue(statement, name, value))
    summary = _summary(name, container, planned, layout)
    if rewritten:
        return causes + Decision(tuple(rewritten), summary, warnings=tuple(warnings))
    changes_length = layout.dropped or layout.removed_keys or layout.appended_keys
    if not changes_length:
        swapped = _swap_every_call_of_the_items_classes(owner, container, planned)
        if swapped:
            return causes + Decision(swapped, summary, warnings=tuple(warnings))
    if changes_length:
        raise DeclarationError(
            f"{path}: items were added to or deleted from this {type(container).__name__}, but "
            f"{source.definer.__qualname__}.__init__ does not build self.{name} as a list, a list comprehension "
            "or a dict the codemod can extend. Fix: replace the container as a whole "
            "(owner.attribute = nn.ModuleList([...])) in the script."
        )
    edits = []
    for key in planned:
        index = key if key.isdigit() and not isinstance(container, nn.ModuleDict) else json.dumps(key)
        target = cst.parse_expression(f"{owner.self_name}.{name}[{index}]")
        value = item_expression(key, None)
        edits.append(
            AppendStatement(cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(target)], value)]))
        )
    warnings.append(
        f"{path}: the codemod cannot rewrite how {source.definer.__qualname__}.__init__ builds self.{name}; "
        "the generated __init__ replaces the changed items after the original body instead."
    )
    return causes + Decision(tuple(edits), summary, warnings=tuple(warnings))


def _planned_items(
    owner: Owner, container: nn.Module, item_changes: dict[str, Change], path: str
) -> dict[str, ItemPlan]:
    planned: dict[str, ItemPlan] = {}
    for key, item in container._modules.items():
        if key in item_changes:
            planned[key] = item_changes[key]
        elif item is not None and is_container(item):
            if owner.planning.dirty(item):
                planned[key] = _nested_items(owner, item, join(path, key), container)
        elif item is not None and (generated := owner.planning.namer.plan_of(item)) is not None:
            planned[key] = generated
    return planned


def _nested_items(owner: Owner, inner: nn.Module, path: str, outer: nn.Module) -> NestedItems:
    """The item plans of a container nested in ``outer``; refuses a change of its length or order."""
    inner_changes = owner.planning.changes.get(inner, {})
    layout = _container_layout(inner, inner_changes, path)
    if layout.dropped or layout.removed_keys or layout.appended_keys or layout.rebuilt:
        raise DeclarationError(
            f"{path}: items were added to, deleted from or moved in this {type(inner).__name__} nested in the "
            f"{type(outer).__name__} {path.rpartition('.')[0]}; the codemod declares items replaced inside nested "
            "containers, not a change of their length or order. Fix: replace the inner container as a whole "
            "(owner.attribute[i] = nn.ModuleList([...]))."
        )
    return NestedItems(inner, _planned_items(owner, inner, inner_changes, path), layout.kept_keys)


def _causes(planned: dict[str, ItemPlan], item_changes: dict[str, Change], path: str) -> list[Cause]:
    """Where each changed item (also inside a nested container) was changed."""
    found = [Cause(join(path, key), change.where) for key, change in item_changes.items()]
    for key, plan in planned.items():
        if isinstance(plan, NestedItems):
            inner_changes = {k: p for k, p in plan.planned.items() if isinstance(p, Change)}
            found += _causes(plan.planned, inner_changes, join(path, key))
    return found


def _item_expression(
    owner: Owner,
    container: nn.Module,
    planned: dict[str, ItemPlan],
    key: str,
    original: cst.BaseExpression | None,
    source: ClassSource,
    item_path: str,
    name: str,
) -> tuple[cst.BaseExpression, tuple[str, ...]]:
    """The expression of one item, and the warnings it gives rise to."""
    planning = owner.planning
    plan = planned.get(key)
    if plan is None:
        return original, ()
    argument = f"{name}[{key}]"
    if isinstance(plan, NestedItems):
        return _nested_expression(owner, plan, original, source, item_path, argument)
    if isinstance(plan, ClassPlan):
        item = container._modules[key]
        if original is None:
            return planning.renderer.module(item, owner.context(item_path), argument), ()
        return swapped_expression(owner, original, item, plan.name, source, item_path)
    if original is None or plan.kind == "add":
        return planning.renderer.module(plan.new, owner.context(item_path), argument), ()
    context = planning.replacing_context(owner.module, item_path, plan.old, original, source, plan.new)
    return planning.renderer.module(plan.new, context, argument), ()


def _nested_expression(
    owner: Owner,
    plan: NestedItems,
    original: cst.BaseExpression | None,
    source: ClassSource,
    path: str,
    name: str,
) -> tuple[cst.BaseExpression, tuple[str, ...]]:
    """The expression building a nested container, its changed items rewritten in it, and the warnings."""
    warnings: list[str] = []

    def item_expression(key: str, item_original: cst.BaseExpression | None) -> cst.BaseExpression:
        expression, picked = _item_expression(
            owner, plan.container, plan.planned, key, item_original, source, join(path, key), name
        )
        warnings.extend(picked)
        return expression

    value = None
    if original is not None:
        sequential = isinstance(plan.container, nn.Sequential)
        value = rewrite_container(original, plan.keys, item_expression, items_as_arguments=sequential)
    if value is None:
        raise DeclarationError(
            f"{path}: items of this {type(plan.container).__name__}, nested in another container, changed, and "
            f"{source.definer.__qualname__}.__init__ does not build it as a list, a list comprehension or a dict "
            "inside the outer one's expression, which the codemod can rewrite. Fix: replace the inner container as "
            "a whole (owner.attribute[i] = nn.ModuleList([...]))."
        )
    return value, tuple(warnings)


def _summary(
    name: str, container: nn.Module, planned: dict[str, ItemPlan], layout: _ContainerLayout
) -> tuple[str, ...]:
    keys_of: dict[str, list[str]] = {}
    for key, plan in planned.items():
        if isinstance(plan, NestedItems):
            shown = f"{type(plan.container).__name__} of changed items"
        elif isinstance(plan, ClassPlan):
            shown = plan.name
        elif plan.kind == "add":
            shown = f"{type(plan.new).__name__} added"
        else:
            shown = type(plan.new).__name__
        keys_of.setdefault(shown, []).append(key)
    summary = []
    for shown, shown_keys in keys_of.items():
        index = "*" if len(shown_keys) == len(container._modules) else ", ".join(shown_keys)
        summary.append(f"{name}[{index}]: {shown}")
    removed = [*layout.removed_keys, *(str(len(layout.kept_keys) + i) for i in range(layout.dropped))]
    if removed:
        summary.append(f"{name}[{', '.join(removed)}] deleted")
    return tuple(summary)


def _swap_every_call_of_the_items_classes(
    owner: Owner, container: nn.Module, planned: dict[str, ItemPlan]
) -> tuple[SwapCallee, ...]:
    """When every module of each changed item's class that the owner's ``__init__`` built (as the tracer recorded)
    has one and the same generated class, the swap of the callee of every call of the class in the copied
    ``__init__``; none otherwise. (Another container of the same owner may swap the same calls: the owner's plan
    keeps each swap once.)

    However the ``__init__`` builds its containers (a local list filled by appends, FalconH1; a comprehension and an
    append, MiniCPM-OCR's merger; inner ``ModuleList``s appended to a local list, Florence-2's vision backbone), each
    call of such a class there builds one of those modules, as traced.
    """
    items = _items_of_generated_classes(container, planned)
    if not items:
        return ()
    planning = owner.planning
    generated: dict[type, ClassPlan] = {}
    for item, _ in items:
        item_class = type(item)
        if item_class in generated:
            continue
        plans = [
            planning.namer.plan_of(module)
            for module in owner.module.modules()
            if type(module) is item_class and planning.builder_of(module) is owner.module
        ]
        if None in plans or len({plan.name for plan in plans}) != 1:
            return ()
        generated[item_class] = plans[0]
    calls = []
    for call in m.findall(owner.statements.merged, m.Call()):
        source = owner.source_for([call])
        found = [cls for cls in generated if resolves_to(call.func, cls, source)]
        if found:
            calls.append((call.func, generated[found[0]].name))
    if {name for _, name in calls} != {plan.name for plan in generated.values()}:
        return ()  # a class built through an alias (LongT5's attention_layer(...)) has no call to swap
    return tuple(SwapCallee(callee, name) for callee, name in calls)


def _items_of_generated_classes(
    container: nn.Module, planned: dict[str, ItemPlan]
) -> list[tuple[nn.Module, ClassPlan]] | None:
    """Each changed item (of nested containers too) with its generated class; ``None`` when one was replaced."""
    found: list[tuple[nn.Module, ClassPlan]] = []
    for key, plan in planned.items():
        if isinstance(plan, NestedItems):
            inner = _items_of_generated_classes(plan.container, plan.planned)
            if inner is None:
                return None
            found += inner
        elif isinstance(plan, ClassPlan):
            found.append((container._modules[key], plan))
        else:
            return None
    return found


@dataclass(frozen=True)
class _ContainerLayout:
    """How a container's items changed besides replacements: items kept from the original, dropped, added."""

    kept_keys: list[str]
    dropped: int = 0
    removed_keys: list[str] = field(default_factory=list)
    appended_keys: list[str] = field(default_factory=list)
    rebuilt: bool = False
    """Items were removed from the middle, inserted or reordered: the container is built from its items."""


def _container_layout(container: nn.Module, changes: dict[str, Change], path: str) -> _ContainerLayout:
    """What ``changes`` did to ``container``'s list of items; refuses what the codemod cannot declare."""
    kind = type(container).__name__
    for key, change in changes.items():
        if change.kind == "set" and change.new is None:
            raise DeclarationError(
                f"{join(path, key)}: an item of a {kind} was set to None (at {change.where}); the codemod cannot "
                f"declare a {kind} holding None. Fix: delete the item, or replace it by nn.Identity()."
            )
    deleted = [key for key, change in changes.items() if change.kind == "delete"]
    added = [key for key in container._modules if key in changes and changes[key].kind == "add"]
    if isinstance(container, nn.ModuleDict):
        kept = [key for key in container._modules if key not in added]
        return _ContainerLayout(kept, removed_keys=deleted, appended_keys=added)
    originals = {id(change.old) for change in changes.values() if change.old is not None}
    originals |= {id(item) for key, item in container._modules.items() if key not in changes}
    moved = [key for key, change in changes.items() if change.kind == "set" and id(change.new) in originals]
    count = len(container._modules)
    tail = [str(index) for index in range(count, count + len(deleted))]
    if moved or (deleted and added) or sorted(deleted, key=_as_index) != tail:
        return _ContainerLayout([], rebuilt=True)
    kept = [key for key in container._modules if key not in added]
    if any(not key.isdigit() for key in [*added, *deleted]):
        raise DeclarationError(
            f"{path}: items with names were added to or deleted from this {kind}; the codemod cannot declare that."
        )
    return _ContainerLayout(kept, dropped=len(deleted), appended_keys=added)


def _as_index(key: str) -> int:
    return int(key) if key.isdigit() else -1
