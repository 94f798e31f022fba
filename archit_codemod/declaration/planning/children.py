"""Decide the edits for one child of a module: replaced, set to ``None``, deleted, added, or of a generated class.

Each decision keeps the original source wherever it can: a replaced child's statement keeps its place and
only its value changes; a child whose class got a generated version keeps its arguments and only its callee
changes. What the ``__init__`` does not build in a form that can be rewritten is built after its body instead,
with a warning.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import libcst as cst
import libcst.matchers as m
from libcst.metadata import MetadataWrapper, ScopeProvider
from torch import nn

from archit_codemod.declaration.editing.edits import Together
from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.planning.context import calls_in, resolves_to
from archit_codemod.declaration.planning.owner import NOTHING, Decision, Owner
from archit_codemod.declaration.planning.plan import (
    AppendStatement,
    Cause,
    ClassPlan,
    Edit,
    RemoveAssignment,
    ReplaceValue,
    SwapCallee,
)
from archit_codemod.declaration.rendering.render import RenderContext
from archit_codemod.declaration.sources.locate import ClassSource
from archit_codemod.declaration.tracing.changes import Change


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def plan_change(owner: Owner, change: Change, path: str) -> Decision:
    """The decision declaring ``change`` (a child of ``owner.module`` set, set to ``None``, deleted or added)."""
    cause = Decision(causes=(Cause(path, change.where),))
    name = change.name
    if change.kind == "add":
        return cause + (_plan_added(owner, change, path) if change.new is not None else NOTHING)
    if change.kind == "delete":
        return cause + _plan_deleted(owner, name, path) + Decision(summary=(f"{name} deleted",))
    planning = owner.planning
    statements = owner.statements.rewritable(name, planning.call_of(change.old))
    source = owner.source_for(statements)
    if change.new is None:
        summary = (f"{name} = None",)
        if statements:
            edits = tuple(
                ReplaceValue(s, _attribute_in(s, name, owner), cst.Name("None")) for s in statements
            )
            return cause + Decision(edits, summary)
        appended = owner.assignment_after_body(name, cst.Name("None"))
        return cause + Decision((appended,), summary, warnings=(owner.out_of_sight(path, name),))
    summary = (f"{name}: {type(change.new).__name__}",)
    if change.old is not None and owner.statements.mutates(name):
        # `self.qkv.bias = nn.Parameter(...)` after `self.qkv = nn.Linear(...)` (BLIP-2) changed the original
        # module before the script replaced it: build the original as written, let the body finish with it, then
        # replace it, as the traced run did (a wrapper wraps `self.qkv`).
        reference = cst.parse_expression(f"{owner.self_name}.{name}")
        context = planning.replacing_context(owner.module, path, change.old, reference, source, change.new)
        value = planning.renderer.module(change.new, context, name)
        return cause + Decision((owner.assignment_after_body(name, value),), summary)
    if not statements:
        value = planning.renderer.module(change.new, owner.context(path), name)
        warning = owner.out_of_sight(path, name)
        return cause + Decision((owner.assignment_after_body(name, value),), summary, warnings=(warning,))
    edits = []
    for statement in statements:
        original = _value_of(statement, name, owner)
        context = planning.replacing_context(owner.module, path, change.old, original, source, change.new)
        context = _swap_replaced_class(context, change.old, planning.namer.name_of(change.old), source)
        value = planning.renderer.module(change.new, context, name)
        edits.append(ReplaceValue(statement, _attribute_in(statement, name, owner), value))
    return cause + Decision(tuple(edits), summary)


def _swap_replaced_class(
    context: RenderContext, old: nn.Module | None, name: str | None, source: ClassSource
) -> RenderContext:
    """A replaced module changed itself before it was wrapped: its original expression builds its generated class."""
    if old is None or name is None or context.replaced_expression is None:
        return context
    swapper = _Swapper(lambda callee: resolves_to(callee, type(old), source), name)
    return dataclasses.replace(
        context, replaced_expression=context.replaced_expression.visit(Together([swapper]))
    )


def _plan_added(owner: Owner, change: Change, path: str) -> Decision:
    name = change.name
    value = owner.planning.renderer.module(change.new, owner.context(path), name)
    warning = (
        f"{path} ({type(change.new).__name__}) is a new attribute of {type(owner.module).__qualname__}, set at "
        f"{change.where}: the generated class builds it, but the inherited forward does not use it."
    )
    return Decision((owner.assignment_after_body(name, value),), (f"{name} added",), warnings=(warning,))


def _plan_deleted(owner: Owner, name: str, path: str) -> Decision:
    statements = owner.statements
    assignments = [
        s for s in statements.assigning(name) if isinstance(s, cst.AnnAssign) or len(s.targets) == 1
    ]
    simple = [
        s for s in assignments if m.matches(_single_target(s), m.Attribute(value=m.Name(owner.self_name)))
    ]
    if statements.reads(name) == 0 and simple and len(simple) == len(statements.assigning(name)):
        return Decision(tuple(RemoveAssignment(s) for s in simple))
    definer = statements.copy.fragments[0].definer.__qualname__
    warning = (
        f"{path}: {definer}.__init__ uses self.{name} or sets it out of sight, so the generated __init__ builds it "
        "as before and deletes it at the end."
    )
    deleted = AppendStatement(cst.parse_statement(f"del {owner.self_name}.{name}"))
    return Decision((deleted,), warnings=(warning,))


def plan_child_class(owner: Owner, name: str, child: nn.Module, generated: ClassPlan, path: str) -> Decision:
    """The child's own class got a generated version: swap the callee, keep the arguments."""
    planning = owner.planning
    summary = (f"{name}: {generated.name}",)
    call = planning.call_of(child)
    statements = owner.statements.rewritable(name, call)
    source = owner.source_for(statements)
    if len(statements) == 1:
        swapped = _swap_alias(owner, statements[0], child, generated.name, source)
        if swapped:
            return Decision(swapped, summary)
    if not statements:
        value = planning.renderer.module(child, owner.context(path), name)
        warning = owner.out_of_sight(path, name)
        return Decision((owner.assignment_after_body(name, value),), summary, warnings=(warning,))
    passes_recorded = None
    if call is not None and not owner.statements.builds_here(name, call):
        # The statement called a factory that built the child in another file: the factory's call stands for the
        # class when it passes what the class was given (AutoModel.from_config(config.encoder)), not when the factory
        # derives it (Mask2Former's load_backbone(config) builds from config.backbone_config).
        passes_recorded = functools.partial(_passes_recorded_arguments, owner, call, path)
    edits: list[Edit] = []
    warnings: list[str] = []
    for statement in statements:
        value = _value_of(statement, name, owner)
        callees = callees_building(value, child, source, call, passes_recorded)
        if callees is not None:
            edits.extend(SwapCallee(callee, generated.name) for callee in callees)
            if not any(resolves_to(callee, type(child), source) for callee in callees):
                warnings.append(_picked_warning(owner, callees[0], child, generated.name))
        else:
            rendered = planning.renderer.module(child, owner.context(path), name)
            edits.append(ReplaceValue(statement, _attribute_in(statement, name, owner), rendered))
    return Decision(tuple(edits), summary, warnings=tuple(warnings))


def swapped_expression(
    owner: Owner,
    original: cst.BaseExpression,
    child: nn.Module,
    generated: str,
    source: ClassSource,
    path: str,
) -> tuple[cst.BaseExpression, tuple[str, ...]]:
    """``original`` building ``generated`` in place of ``type(child)`` (the recorded call when it cannot), and the
    warning when the class was picked by an expression rather than named."""
    planning = owner.planning
    callees = callees_building(original, child, source, planning.call_of(child))
    if callees is None:
        return planning.renderer.module(child, owner.context(path), path.rpartition(".")[2]), ()
    warnings = ()
    if not any(resolves_to(callee, type(child), source) for callee in callees):
        warnings = (_picked_warning(owner, callees[0], child, generated),)
    targets = set(callees)
    return original.visit(Together([_Swapper(lambda callee: callee in targets, generated)])), warnings


def callees_building(
    expression: cst.BaseExpression,
    child: nn.Module,
    source: ClassSource,
    call: Any,
    passes_recorded: Callable[[cst.Call], bool] | None = None,
) -> list[cst.BaseExpression] | None:
    """The callees in ``expression`` that built ``child``: calls of its class by name, else the one call whose
    arguments have the shape the tracer recorded (``attention_class(config, ...)``), and pass what was recorded when
    ``passes_recorded`` tells; ``None`` when neither."""
    calls = calls_in(expression)
    by_name = [c.func for c in calls if resolves_to(c.func, type(child), source)]
    if by_name:
        return by_name
    if call is not None:
        shaped = [
            c
            for c in calls
            if _has_shape(c, call.args, call.kwargs) and (passes_recorded is None or passes_recorded(c))
        ]
        if len(shaped) == 1:
            return [shaped[0].func]
    return None


def _picked_warning(owner: Owner, callee: cst.BaseExpression, child: nn.Module, generated: str) -> str:
    owner_name = type(owner.module).__qualname__
    return (
        f"{owner_name}.__init__: {_code(callee)} picked {type(child).__qualname__} in the traced run; the generated "
        f"subclass of {owner_name} builds {generated} in its place, whatever {_code(callee)} would pick for another "
        "configuration (only the traced choice carries the modification). Trace with the configuration you mean "
        "to ship."
    )


def _swap_alias(
    owner: Owner, statement: Any, child: nn.Module, generated: str, source: ClassSource
) -> tuple[SwapCallee, ...]:
    """The swaps of the class where a local alias of it is defined; none when that is not how it is built.

    ``attention_class = BertCrossAttention if is_cross_attention else BertSelfAttention`` followed by
    ``self.self = attention_class(config, ...)``: the branch naming the child's class is swapped, the assignment of
    ``self.self`` stays as written. Only a local assigned once, from a class name or a conditional expression of
    class names, and read once, is followed.
    """
    local_calls = [
        call
        for call in calls_in(statement.value)
        if isinstance(call.func, cst.Name)
        and call.func.value not in source.namespace
        and not resolves_to(call.func, type(child), source)
    ]
    recorded = owner.planning.call_of(child)
    if recorded is not None:
        local_calls = [c for c in local_calls if _has_shape(c, recorded.args, recorded.kwargs)]
    if len(local_calls) != 1:
        return ()
    definition = _single_local_definition(owner.statements.merged, local_calls[0].func.value)
    if definition is None:
        return ()
    names = _class_names(definition)
    if names is None:
        return ()
    return tuple(SwapCallee(node, generated) for node in names if resolves_to(node, type(child), source))


def _class_names(expression: cst.BaseExpression) -> list[cst.BaseExpression] | None:
    """The class names of ``expression`` when it is one, or a conditional expression of them; else ``None``."""
    if m.matches(expression, m.Name() | m.Attribute()):
        return [expression]
    if isinstance(expression, cst.IfExp):
        body, orelse = _class_names(expression.body), _class_names(expression.orelse)
        if body is None or orelse is None:
            return None
        return [*body, *orelse]
    return None


def _single_local_definition(function: cst.FunctionDef, name: str) -> cst.BaseExpression | None:
    """The value of ``name = value`` when that is the only binding of the local ``name``, read only once."""
    wrapper = MetadataWrapper(cst.Module(body=[function]), unsafe_skip_copy=True)
    scopes = wrapper.resolve(ScopeProvider)
    body = function.body.body
    scope = scopes.get(body[0]) if body else None
    if scope is None or len(scope.assignments[name]) != 1 or len(scope.accesses[name]) != 1:
        return None
    definitions = m.findall(function.body, m.Assign(targets=[m.AssignTarget(m.Name(name))]))
    return definitions[0].value if len(definitions) == 1 else None


def _passes_recorded_arguments(owner: Owner, recorded: Any, path: str, call: cst.Call) -> bool:
    """Whether each argument of ``call`` is written as the recorded argument renders in ``owner``'s ``__init__``."""
    context = owner.context(path)
    written = {
        (arg.keyword.value if arg.keyword is not None else index): _code(arg.value)
        for index, arg in enumerate(call.args)
    }
    expected = {**dict(enumerate(recorded.args)), **recorded.kwargs}
    try:
        rendered = {
            key: _code(owner.planning.renderer.value(value, context, str(key)))
            for key, value in expected.items()
        }
    except DeclarationError:
        return False
    return rendered == written


def _has_shape(call: cst.Call, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether ``call`` passes as many positional arguments and the same keywords as were recorded."""
    if any(arg.star for arg in call.args):
        return False
    positional = [arg for arg in call.args if arg.keyword is None]
    keywords = {arg.keyword.value for arg in call.args if arg.keyword is not None}
    return len(positional) == len(args) and keywords == set(kwargs)


def _single_target(statement: Any) -> cst.BaseExpression:
    return statement.target if isinstance(statement, cst.AnnAssign) else statement.targets[0].target


def _attribute_in(statement: Any, name: str, owner: Owner) -> str:
    """The spelling of ``self.<name>`` that ``statement`` assigns (private names may be written unmangled)."""
    spellings = set(owner.statements.spellings(name))
    target = _single_target(statement)
    elements = target.elements if isinstance(target, cst.Tuple | cst.List) else [cst.Element(target)]
    for element in elements:
        value = element.value
        if isinstance(value, cst.Attribute) and value.attr.value in spellings:
            return value.attr.value
    return name


def _value_of(statement: Any, name: str, owner: Owner) -> cst.BaseExpression:
    """The value ``statement`` assigns to ``self.<name>`` (the matching element of a tuple assignment)."""
    target = _single_target(statement)
    if not isinstance(target, cst.Tuple | cst.List):
        return statement.value
    attribute = _attribute_in(statement, name, owner)
    for element, value in zip(target.elements, statement.value.elements, strict=True):
        if isinstance(element.value, cst.Attribute) and element.value.attr.value == attribute:
            return value.value
    return statement.value


class _Swapper(cst.CSTTransformer):
    """Every callee that ``is_target`` accepts becomes ``name``. Run inside :class:`Together`, which leaves what the
    swap did not change as the original nodes: the vendor emitter renames a reference to a class it renames in
    place by identity (``downsample=SwinPatchMerging`` in an argument of a swapped call)."""

    def __init__(self, is_target: Callable[[cst.BaseExpression], bool], name: str) -> None:
        super().__init__()
        self.is_target = is_target
        self.name = name

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        if self.is_target(original_node.func):
            return updated_node.with_changes(func=cst.Name(self.name))
        return updated_node
