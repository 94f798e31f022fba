"""Decide the edits for one child of a module: replaced, set to ``None``, deleted, added, or of a generated class.

Each decision keeps the original source wherever it can: a replaced child's statement keeps its place and
only its value changes; a child whose class got a generated version keeps its arguments and only its callee
changes. What the ``__init__`` does not build in a form that can be rewritten is built after its body instead,
with a warning.
"""

from __future__ import annotations

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
from archit_codemod.declaration.planning.owner import OwnerEdits
from archit_codemod.declaration.planning.plan import (
    AppendStatement,
    Cause,
    ClassPlan,
    RemoveAssignment,
    ReplaceValue,
    SwapCallee,
)
from archit_codemod.declaration.rendering.render import RenderContext
from archit_codemod.declaration.sources.locate import ClassSource
from archit_codemod.declaration.tracing.changes import Change


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def plan_change(owner: OwnerEdits, change: Change, path: str) -> None:
    """Edits declaring ``change`` (a child of ``owner.module`` set, set to ``None``, deleted or added)."""
    owner.causes.append(Cause(path, change.where))
    name = change.name
    if change.kind == "add":
        if change.new is not None:
            _plan_added(owner, change, path)
        return
    if change.kind == "delete":
        _plan_deleted(owner, name, path)
        owner.summary.append(f"{name} deleted")
        return
    planning = owner.planning
    statements = owner.statements.rewritable(name, planning.call_of(change.old))
    source = owner.source_for(statements)
    if change.new is None:
        owner.summary.append(f"{name} = None")
        if statements:
            owner.edits.extend(
                ReplaceValue(s, _attribute_in(s, name, owner), cst.Name("None")) for s in statements
            )
        else:
            owner.append_assignment(name, cst.Name("None"))
            planning.warn(owner.out_of_sight(path, name))
        return
    owner.summary.append(f"{name}: {type(change.new).__name__}")
    if change.old is not None and owner.statements.mutates(name):
        # `self.qkv.bias = nn.Parameter(...)` after `self.qkv = nn.Linear(...)` (BLIP-2) changed the original
        # module before the script replaced it: build the original as written, let the body finish with it, then
        # replace it, as the traced run did (a wrapper wraps `self.qkv`).
        reference = cst.parse_expression(f"{owner.self_name}.{name}")
        context = planning.replacing_context(owner.module, path, change.old, reference, source, change.new)
        owner.append_assignment(name, planning.renderer.module(change.new, context, name))
        return
    if not statements:
        owner.append_assignment(name, planning.renderer.module(change.new, owner.context(path), name))
        planning.warn(owner.out_of_sight(path, name))
        return
    for statement in statements:
        original = _value_of(statement, name, owner)
        context = planning.replacing_context(owner.module, path, change.old, original, source, change.new)
        _swap_replaced_class(context, change.old, planning.namer.name_of(change.old), source)
        value = planning.renderer.module(change.new, context, name)
        owner.edits.append(ReplaceValue(statement, _attribute_in(statement, name, owner), value))


def _swap_replaced_class(
    context: RenderContext, old: nn.Module | None, name: str | None, source: ClassSource
) -> None:
    """A replaced module changed itself before it was wrapped: its original expression builds its generated class."""
    if old is None or name is None or context.replaced_expression is None:
        return
    swapper = _Swapper(lambda callee: resolves_to(callee, type(old), source), name)
    context.replaced_expression = context.replaced_expression.visit(Together([swapper]))


def _plan_added(owner: OwnerEdits, change: Change, path: str) -> None:
    planning = owner.planning
    name = change.name
    owner.append_assignment(name, planning.renderer.module(change.new, owner.context(path), name))
    owner.summary.append(f"{name} added")
    planning.warn(
        f"{path} ({type(change.new).__name__}) is a new attribute of {type(owner.module).__qualname__}, set at "
        f"{change.where}: the generated class builds it, but the inherited forward does not use it."
    )


def _plan_deleted(owner: OwnerEdits, name: str, path: str) -> None:
    statements = owner.statements
    assignments = [
        s for s in statements.assigning(name) if isinstance(s, cst.AnnAssign) or len(s.targets) == 1
    ]
    simple = [
        s for s in assignments if m.matches(_single_target(s), m.Attribute(value=m.Name(owner.self_name)))
    ]
    if statements.reads(name) == 0 and simple and len(simple) == len(statements.assigning(name)):
        owner.edits.extend(RemoveAssignment(s) for s in simple)
        return
    owner.edits.append(AppendStatement(cst.parse_statement(f"del {owner.self_name}.{name}")))
    definer = statements.copy.fragments[0].definer.__qualname__
    owner.planning.warn(
        f"{path}: {definer}.__init__ uses self.{name} or sets it out of sight, so the generated __init__ builds it "
        "as before and deletes it at the end."
    )


def plan_child_class(owner: OwnerEdits, name: str, child: nn.Module, generated: ClassPlan, path: str) -> None:
    """The child's own class got a generated version: swap the callee, keep the arguments."""
    planning = owner.planning
    owner.summary.append(f"{name}: {generated.name}")
    call = planning.call_of(child)
    statements = owner.statements.rewritable(name, call)
    source = owner.source_for(statements)
    if len(statements) == 1 and _swap_alias(owner, statements[0], child, generated.name, source):
        return
    if not statements:
        value = planning.renderer.module(child, owner.context(path), name)
        owner.append_assignment(name, value)
        planning.warn(owner.out_of_sight(path, name))
        return
    passes_recorded = None
    if call is not None and not owner.statements.builds_here(name, call):
        # The statement called a factory that built the child in another file: the factory's call stands for the
        # class when it passes what the class was given (AutoModel.from_config(config.encoder)), not when the factory
        # derives it (Mask2Former's load_backbone(config) builds from config.backbone_config).
        passes_recorded = functools.partial(_passes_recorded_arguments, owner, call, path)
    for statement in statements:
        value = _value_of(statement, name, owner)
        callees = callees_building(value, child, source, call, passes_recorded)
        if callees is not None:
            owner.edits.extend(SwapCallee(callee, generated.name) for callee in callees)
            if not any(resolves_to(callee, type(child), source) for callee in callees):
                planning.warn(_picked_warning(owner, callees[0], child, generated.name))
        else:
            rendered = planning.renderer.module(child, owner.context(path), name)
            owner.edits.append(ReplaceValue(statement, _attribute_in(statement, name, owner), rendered))


def swapped_expression(
    owner: OwnerEdits,
    original: cst.BaseExpression,
    child: nn.Module,
    generated: str,
    source: ClassSource,
    path: str,
) -> cst.BaseExpression:
    """``original`` building ``generated`` in place of ``type(child)``; the recorded call when it cannot."""
    planning = owner.planning
    callees = callees_building(original, child, source, planning.call_of(child))
    if callees is None:
        return planning.renderer.module(child, owner.context(path), path.rpartition(".")[2])
    if not any(resolves_to(callee, type(child), source) for callee in callees):
        planning.warn(_picked_warning(owner, callees[0], child, generated))
    targets = {id(callee) for callee in callees}
    return original.visit(Together([_Swapper(lambda callee: id(callee) in targets, generated)]))


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


def _picked_warning(owner: OwnerEdits, callee: cst.BaseExpression, child: nn.Module, generated: str) -> str:
    owner_name = type(owner.module).__qualname__
    return (
        f"{owner_name}.__init__: {_code(callee)} picked {type(child).__qualname__} in the traced run; the generated "
        f"subclass of {owner_name} builds {generated} in its place, whatever {_code(callee)} would pick for another "
        "configuration (only the traced choice carries the modification). Trace with the configuration you mean "
        "to ship."
    )


def _swap_alias(
    owner: OwnerEdits, statement: Any, child: nn.Module, generated: str, source: ClassSource
) -> bool:
    """Swap the class where a local alias of it is defined; whether it was done.

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
        return False
    definition = _single_local_definition(owner.statements.merged, local_calls[0].func.value)
    if definition is None:
        return False
    names = _class_names(definition)
    if names is None:
        return False
    targets = [node for node in names if resolves_to(node, type(child), source)]
    if not targets:
        return False
    owner.edits.extend(SwapCallee(node, generated) for node in targets)
    return True


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


def _passes_recorded_arguments(owner: OwnerEdits, recorded: Any, path: str, call: cst.Call) -> bool:
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


def _attribute_in(statement: Any, name: str, owner: OwnerEdits) -> str:
    """The spelling of ``self.<name>`` that ``statement`` assigns (private names may be written unmangled)."""
    spellings = set(owner.statements.spellings(name))
    target = _single_target(statement)
    elements = target.elements if isinstance(target, cst.Tuple | cst.List) else [cst.Element(target)]
    for element in elements:
        value = element.value
        if isinstance(value, cst.Attribute) and value.attr.value in spellings:
            return value.attr.value
    return name


def _value_of(statement: Any, name: str, owner: OwnerEdits) -> cst.BaseExpression:
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
