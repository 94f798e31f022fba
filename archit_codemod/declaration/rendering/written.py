"""Where the script wrote a value, and the expression it wrote there: the source form of a value that has no
structural one.

A lambda (``check_fn=lambda m: isinstance(m, LlamaDecoderLayer)``), an object whose constructor derives its state
(``SteeringController(config.n_embd, alpha=4.0, seed=7)`` draws a direction), a QConfig that
``get_default_qat_qconfig("fbgemm")`` made: none of them can be written back from what it holds, but the script wrote
an expression that made it. This module finds that expression in the script's parsed source and says what each name
it reads is; :class:`~archit_codemod.declaration.rendering.render.Renderer` renders those names (a script global
holding the model's config becomes ``config``, a module of the model ``self.<path>``, a literal the literal) and
puts them in (:func:`substituted`).

Where a value was written (:class:`Written`) is known from the trace: an argument of a call the script made (the
call's line, recorded by the tracer for constructor and library calls), an attribute the script set on a module (the
assignment is looked up by the attribute's name), a script global (its one assignment). A lambda is found by its
code object (its line, and the columns of its body), wherever it was passed.

A name the expression reads is taken at the value the script's namespace holds once the script ended, so only when
that is the value it had where the expression ran: a global bound once outside any loop (an import, a ``def``, one
assignment), or any name read inside a lambda, which reads it when called (as the traced lambda does). A local
variable of a function is not known: :class:`FreeName` says so, and the renderer refuses, naming it and the line.
"""

from __future__ import annotations

import builtins
import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import libcst as cst
import torch
from libcst.metadata import Assignment, BaseAssignment, BuiltinScope, GlobalScope
from libcst.metadata.scope_provider import ImportAssignment
from torch import nn

from archit_codemod.declaration.script import ScriptSource
from archit_codemod.declaration.sources.locate import ParsedSource

__all__ = [
    "AttributeSite",
    "CallSite",
    "FreeName",
    "GlobalSite",
    "ScriptExpression",
    "Written",
    "script_expression",
    "substituted",
]


@dataclass(frozen=True)
class CallSite:
    """A call the script made at ``filename:lineno``, to ``callee`` (a function or class; a method called on an
    object when ``method`` is true, whose first parameter the call's arguments do not fill)."""

    filename: str
    lineno: int
    callee: Any
    name: str
    """The callee's name as the call may write it (the function's, the method's, the class's)."""
    method: bool = False


@dataclass(frozen=True, eq=False)
class AttributeSite:
    """An attribute the script set on a module after building it: ``<module>.<name> = value``."""

    module: nn.Module
    name: str


@dataclass(frozen=True)
class GlobalSite:
    """A global name of the script, bound by one assignment."""

    name: str


@dataclass(frozen=True, eq=False)
class Written:
    """Where the script wrote the value being rendered: an argument of a call (by parameter name, or position among
    the positional arguments), an attribute's value, a global's value; ``items`` leads into the list and tuple
    literals written there (``[a, b]``: item 1 is ``b``)."""

    site: CallSite | AttributeSite | GlobalSite
    parameter: str | None = None
    position: int | None = None
    items: tuple[int, ...] = ()

    def item(self, index: int) -> Written:
        return Written(self.site, self.parameter, self.position, (*self.items, index))


NameKind = Literal["global", "closure", "local", "unbound", "module attribute", "builtin"]


@dataclass(frozen=True)
class FreeName:
    """A name the expression reads that it does not bind itself.

    ``kind``: a global of the script, a variable of the function enclosing a lambda (its value is in the lambda's
    closure), a local variable of a function (unknown here), a name the script's namespace does not hold once it
    ended, a name Python binds in each module (``__file__``: the generated module has its own), or a builtin. ``reliable`` says whether the value the
    name holds now is the one the expression read: always inside a lambda (read when called), else only for a
    global bound once outside loops.
    """

    name: str
    kind: NameKind
    reliable: bool
    value: Any = None
    """The value it holds (a global's in the script's namespace, a closure cell's), for ``global`` and ``closure``."""
    imported: bool = False
    """Whether the script binds it by imports only (the generated module imports it the same way)."""


@dataclass(frozen=True, eq=False)
class ScriptExpression:
    """An expression of the script (a node of its parsed source, to be copied), its line, and its free names."""

    node: cst.BaseExpression
    line: int
    free: tuple[FreeName, ...]
    occurrences: tuple[tuple[str, cst.Name], ...]
    """Each ``Name`` node of ``node`` that reads a free name, with that name."""

    @property
    def code(self) -> str:
        return cst.Module([]).code_for_node(self.node)

    def reaches_a_tensor(self, name: str, value: Any) -> bool:
        """Whether the expression reads a tensor through ``name``, which holds ``value`` (``model.lm_head.weight[5]``
        reads the traced model's weights: generated code runs before any are loaded). Each read is followed through
        attributes and constant subscripts, up to the first call."""
        parents = {child: parent for parent in _nodes(self.node) for child in parent.children}
        for read, name_node in self.occurrences:
            if read != name:
                continue
            node, held = name_node, value
            while True:
                if isinstance(held, torch.Tensor):
                    return True
                parent = parents.get(node)
                if isinstance(parent, cst.Attribute) and parent.value is node:
                    held = getattr(held, parent.attr.value, _UNKNOWN)
                elif isinstance(parent, cst.Subscript) and parent.value is node:
                    held = _subscripted(held, parent)
                else:
                    break
                if held is _UNKNOWN:
                    break
                node = parent
        return False


def script_expression(value: Any, written: Written | None, script: ScriptSource) -> ScriptExpression | None:
    """The script's expression that produced ``value``: a lambda's own, wherever it went; else the expression at
    ``written``, or the one assignment of the only script global holding ``value``. ``None`` when the script
    wrote none the codemod can find (no script file, another file, no call or assignment that matches)."""
    if script.path is None:
        return None
    parsed = script.parsed()
    if _is_lambda(value) and Path(value.__code__.co_filename).resolve() == parsed.path:
        return _lambda_expression(value, parsed, script)
    if written is None:
        holders = [
            name for name, held in script.namespace.items() if held is value and not name.startswith("__")
        ]
        if len(holders) != 1:
            return None
        written = Written(GlobalSite(holders[0]))
    found = _written_node(written, parsed, script)
    if found is None:
        return None
    node, statement = found
    return _expression(node, statement, parsed, script, closure=None)


def substituted(
    expression: ScriptExpression, replacements: dict[str, cst.BaseExpression]
) -> cst.BaseExpression:
    """``expression``'s node with each occurrence of a name of ``replacements`` replaced by its expression (in
    parentheses where a bare one would bind otherwise: ``(-2).real``)."""
    nodes = {
        name_node: _atomic(replacements[name])
        for name, name_node in expression.occurrences
        if name in replacements and not _same_name(replacements[name], name)
    }
    if not nodes:
        return expression.node
    return expression.node.visit(_Replace(nodes))


# -- finding the expression ------------------------------------------------------------------------------------


def _is_lambda(value: Any) -> bool:
    return inspect.isfunction(value) and value.__name__ == "<lambda>"


def _lambda_expression(function: Any, parsed: ParsedSource, script: ScriptSource) -> ScriptExpression | None:
    """The ``lambda`` of the script that compiled to ``function``'s code: on its first line, and, when several are
    there, the one whose body holds the columns of the code's first instruction after its header."""
    code = function.__code__
    statement = _statement_at(parsed, code.co_firstlineno)
    if statement is None:
        return None
    positions = parsed.positions_in(statement)
    lambdas = [
        node
        for node in _nodes(statement)
        if isinstance(node, cst.Lambda) and positions[node].start.line == code.co_firstlineno
    ]
    if len(lambdas) > 1 and hasattr(code, "co_positions"):  # Python 3.11+
        # The body's instructions lie inside the body of the lambda that compiled to them (the header's are at
        # column 0). Their columns count UTF-8 bytes, LibCST's characters: the same on the ASCII lines of code.
        starts = [(line, column) for line, _, column, _ in code.co_positions() if line and column]
        lambdas = [node for node in lambdas if any(_within(positions[node.body], start) for start in starts)]
    if len(lambdas) != 1:
        return None
    return _expression(lambdas[0], statement, parsed, script, closure=_closure(function))


def _closure(function: Any) -> dict[str, Any]:
    """The variables of the functions enclosing ``function`` that it reads, with their values (an unbound one left
    out)."""
    found = {}
    for name, cell in zip(function.__code__.co_freevars, function.__closure__ or (), strict=False):
        try:
            found[name] = cell.cell_contents
        except ValueError:  # empty: the enclosing function had not bound it yet
            continue
    return found


def _written_node(
    written: Written, parsed: ParsedSource, script: ScriptSource
) -> tuple[cst.BaseExpression, cst.CSTNode] | None:
    """The node ``written`` points to, and the top-level statement holding it."""
    site = written.site
    if isinstance(site, CallSite):
        if Path(site.filename).resolve() != parsed.path:
            return None
        found = _argument_node(site, written, parsed)
    elif isinstance(site, AttributeSite):
        found = _assigned_node(site, parsed, script)
    else:
        found = _global_node(site.name, parsed)
    if found is None:
        return None
    node, statement = found
    for index in written.items:
        if not isinstance(node, cst.List | cst.Tuple) or any(
            isinstance(element, cst.StarredElement) for element in node.elements
        ):
            return None
        if index >= len(node.elements):
            return None
        node = node.elements[index].value
    return node, statement


def _argument_node(
    site: CallSite, written: Written, parsed: ParsedSource
) -> tuple[cst.BaseExpression, cst.CSTNode] | None:
    statement = _statement_at(parsed, site.lineno)
    if statement is None:
        return None
    positions = parsed.positions_in(statement)
    calls = [node for node in _nodes(statement) if isinstance(node, cst.Call)]
    # A call is recorded on the line it starts on; older Pythons may give a line inside it.
    starting = [call for call in calls if positions[call].start.line == site.lineno]
    calls = starting or [
        call for call in calls if positions[call].start.line <= site.lineno <= positions[call].end.line
    ]
    named = [call for call in calls if _callee_name(call.func) == site.name]
    candidates = named or (calls if len(calls) == 1 else [])
    found = {node for call in candidates if (node := _bound_argument(call, site, written)) is not None}
    if len(found) != 1:
        return None
    return found.pop(), statement


def _callee_name(func: cst.BaseExpression) -> str | None:
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return None


def _bound_argument(call: cst.Call, site: CallSite, written: Written) -> cst.BaseExpression | None:
    """The argument of ``call`` that ``written`` names: by keyword, else by binding the positional ones to the
    callee's parameters (or by ``written.position``)."""
    positional: list[cst.BaseExpression] = []
    for arg in call.args:
        if arg.star:
            if arg.star == "*":
                positional = []  # the positions after *args are unknown
                break
            continue
        if arg.keyword is not None:
            if arg.keyword.value == written.parameter:
                return arg.value
        else:
            positional.append(arg.value)
    if written.position is not None:
        return positional[written.position] if written.position < len(positional) else None
    if written.parameter is None:
        return None
    try:
        parameters = list(inspect.signature(site.callee).parameters.values())
    except (TypeError, ValueError):
        return None
    if site.method and inspect.isfunction(site.callee) and parameters:
        parameters = parameters[1:]
    for index, parameter in enumerate(parameters[: len(positional)]):
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            return None
        if parameter.name == written.parameter:
            return positional[index]
    return None


def _assigned_node(
    site: AttributeSite, parsed: ParsedSource, script: ScriptSource
) -> tuple[cst.BaseExpression, cst.CSTNode] | None:
    """The value of the one assignment of ``.<name>`` in the script that can be what set it on ``site.module``:
    ``target.<name> = value`` or ``setattr(target, "<name>", value)``: the one whose target names the module now,
    else the one whose target is unknown here (a loop variable, a function's), when all others name other objects."""
    named, unknown = [], []
    for statement in parsed.module.body:
        for target, value in _attribute_assignments(statement, site.name):
            held = _evaluated(target, parsed, script)
            if held is site.module:
                named.append((value, statement))
            elif held is _UNKNOWN:
                unknown.append((value, statement))
    candidates = named or unknown
    return candidates[0] if len(candidates) == 1 else None


def _attribute_assignments(
    statement: cst.CSTNode, name: str
) -> Iterator[tuple[cst.BaseExpression, cst.BaseExpression]]:
    """``(target, value)`` of each assignment of ``target.<name>`` in ``statement``."""
    for node in _nodes(statement):
        if isinstance(node, cst.Assign):
            for target in node.targets:
                if isinstance(target.target, cst.Attribute) and target.target.attr.value == name:
                    yield target.target.value, node.value
        elif (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Name)
            and node.func.value == "setattr"
            and len(node.args) == 3
            and isinstance(node.args[1].value, cst.SimpleString)
            and node.args[1].value.evaluated_value == name
        ):
            yield node.args[0].value, node.args[2].value


_UNKNOWN = object()


def _evaluated(target: cst.BaseExpression, parsed: ParsedSource, script: ScriptSource) -> Any:
    """The object ``target`` (names, attributes, constant subscripts) names now, when each global it reads is bound
    once outside loops; ``_UNKNOWN`` otherwise."""
    if isinstance(target, cst.Name):
        if not _reads_a_global(target, parsed) or not _bound_once(target.value, parsed):
            return _UNKNOWN
        return script.namespace.get(target.value, _UNKNOWN)
    if isinstance(target, cst.Attribute):
        base = _evaluated(target.value, parsed, script)
        return _UNKNOWN if base is _UNKNOWN else getattr(base, target.attr.value, _UNKNOWN)
    if isinstance(target, cst.Subscript):
        base = _evaluated(target.value, parsed, script)
        if base is _UNKNOWN:
            return _UNKNOWN
        return _subscripted(base, target)
    return _UNKNOWN


def _subscripted(base: Any, subscript: cst.Subscript) -> Any:
    """``base[key]`` for the constant key (an integer or a string) of ``subscript``; ``_UNKNOWN`` otherwise."""
    if len(subscript.slice) != 1 or not isinstance(subscript.slice[0].slice, cst.Index):
        return _UNKNOWN
    key = subscript.slice[0].slice.value
    if not isinstance(key, cst.Integer | cst.SimpleString):
        return _UNKNOWN
    try:
        return base[key.evaluated_value]
    except Exception:  # an object that does not take that index
        return _UNKNOWN


def _reads_a_global(name_node: cst.Name, parsed: ParsedSource) -> bool:
    """Whether ``name_node`` reads a global of the script (not a function's variable)."""
    scope = parsed.scopes.get(name_node)
    if scope is None:
        return False
    accesses = [access for access in scope.accesses[name_node.value] if access.node is name_node]
    return bool(accesses) and all(
        isinstance(referent.scope, GlobalScope) for referent in accesses[0].referents
    )


def _global_node(name: str, parsed: ParsedSource) -> tuple[cst.BaseExpression, cst.CSTNode] | None:
    """The value of the one top-level assignment ``name = value`` (outside loops) that binds the global ``name``."""
    if not _bound_once(name, parsed):
        return None
    for statement in parsed.module.body:
        for node in _nodes(statement, into_functions=False):
            if isinstance(node, cst.Assign) and any(
                isinstance(target.target, cst.Name) and target.target.value == name for target in node.targets
            ):
                return node.value, statement
            if (
                isinstance(node, cst.AnnAssign)
                and node.value is not None
                and isinstance(node.target, cst.Name)
                and node.target.value == name
            ):
                return node.value, statement
    return None


# -- the names an expression reads -----------------------------------------------------------------------------


def _expression(
    node: cst.BaseExpression,
    statement: cst.CSTNode,
    parsed: ParsedSource,
    script: ScriptSource,
    closure: dict[str, Any] | None,
) -> ScriptExpression:
    """``node`` with its free names: ``closure`` holds the cells of the lambda ``node`` is (``None`` for another
    expression)."""
    inside = set(_nodes(node))
    late = {inner for lambda_ in inside if isinstance(lambda_, cst.Lambda) for inner in _nodes(lambda_)}
    scopes = parsed.scopes
    free: dict[str, FreeName] = {}
    occurrences = []
    for name_node in (inner for inner in _nodes(node) if isinstance(inner, cst.Name)):
        scope = scopes.get(name_node)
        if scope is None:
            continue
        accesses = [access for access in scope.accesses[name_node.value] if access.node is name_node]
        if not accesses:
            continue  # not a read of a name (an attribute's or a keyword's name)
        referents = accesses[0].referents
        if any(_node_of(referent) in inside for referent in referents):
            continue  # bound by the expression itself (a lambda's parameter)
        name = name_node.value
        occurrences.append((name, name_node))
        if name not in free:
            free[name] = _classify(name, referents, name_node in late, parsed, script, closure)
    return ScriptExpression(
        node, parsed.positions_in(statement)[node].start.line, tuple(free.values()), tuple(occurrences)
    )


def _classify(
    name: str,
    referents: set[BaseAssignment],
    late: bool,
    parsed: ParsedSource,
    script: ScriptSource,
    closure: dict[str, Any] | None,
) -> FreeName:
    if closure is not None and name in closure:
        return FreeName(name, "closure", True, closure[name])
    if (
        name.startswith("__")
        and name.endswith("__")
        and not any(isinstance(referent.scope, GlobalScope) for referent in referents)
    ):
        return FreeName(name, "module attribute", False)
    if referents and all(isinstance(referent.scope, BuiltinScope) for referent in referents):
        return FreeName(name, "builtin", True)
    if any(not isinstance(referent.scope, GlobalScope | BuiltinScope) for referent in referents):
        return FreeName(name, "local", False)
    if name in script.namespace:
        reliable = late or closure is not None or _bound_once(name, parsed)
        imported = bool(referents) and all(isinstance(referent, ImportAssignment) for referent in referents)
        return FreeName(name, "global", reliable, script.namespace[name], imported)
    if not referents and hasattr(builtins, name):
        return FreeName(name, "builtin", True)
    return FreeName(name, "unbound", False)


def _bound_once(name: str, parsed: ParsedSource) -> bool:
    """Whether the global ``name`` is bound by one statement of the script, outside any loop (an import, a ``def``,
    a ``class``, an assignment): the value it holds once the script ended is the one it had wherever it was read."""
    assignments = [
        assignment
        for assignment in parsed.scopes[parsed.module].assignments[name]
        if isinstance(assignment.scope, GlobalScope)
    ]
    if len(assignments) != 1:
        return False
    node = _node_of(assignments[0])
    return node is not None and not any(node in _in_loops(statement) for statement in parsed.module.body)


def _in_loops(statement: cst.CSTNode) -> set[cst.CSTNode]:
    """Every node of top-level ``statement`` that runs inside a ``for`` or ``while`` loop (its target included), not
    counting function bodies. (A comprehension binds its variables in a scope of its own.)"""
    if isinstance(statement, cst.SimpleStatementLine | cst.FunctionDef | cst.ClassDef):
        return set()
    return {
        inner
        for node in _nodes(statement, into_functions=False)
        if isinstance(node, cst.For | cst.While)
        for inner in _nodes(node)
    }


def _node_of(assignment: BaseAssignment) -> cst.CSTNode | None:
    return assignment.node if isinstance(assignment, Assignment) else None


# -- small helpers ---------------------------------------------------------------------------------------------


def _statement_at(parsed: ParsedSource, line: int) -> cst.CSTNode | None:
    """The top-level statement of ``parsed`` whose lines hold ``line``."""
    for statement in parsed.module.body:
        where = parsed.positions_in(statement)[statement]
        if where.start.line <= line <= where.end.line:
            return statement
        if where.start.line > line:
            return None
    return None


def _nodes(root: cst.CSTNode, *, into_functions: bool = True) -> Iterator[cst.CSTNode]:
    """``root`` and every node under it, in source order (not into ``def``/``class`` bodies unless
    ``into_functions``)."""
    pending = [root]
    while pending:
        node = pending.pop()
        yield node
        if not into_functions and node is not root and isinstance(node, cst.FunctionDef | cst.ClassDef):
            continue
        pending.extend(reversed(node.children))


def _within(where: Any, position: tuple[int, int]) -> bool:
    start, end = (where.start.line, where.start.column), (where.end.line, where.end.column)
    return start <= position <= end


def _same_name(expression: cst.BaseExpression, name: str) -> bool:
    return isinstance(expression, cst.Name) and expression.value == name


_ATOMS = (
    cst.Name,
    cst.Attribute,
    cst.Call,
    cst.Subscript,
    cst.List,
    cst.Tuple,
    cst.Dict,
    cst.Set,
    cst.SimpleString,
    cst.ConcatenatedString,
    cst.Integer,
    cst.Float,
)


def _atomic(expression: cst.BaseExpression) -> cst.BaseExpression:
    """``expression`` as it can stand anywhere a name stood: in parentheses unless it is an atom."""
    if isinstance(expression, _ATOMS) or expression.lpar:
        return expression
    return expression.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


class _Replace(cst.CSTTransformer):
    """Replace the ``Name`` nodes of ``replacements`` (nodes of the script's tree, recognised by identity)."""

    def __init__(self, replacements: dict[cst.Name, cst.BaseExpression]):
        super().__init__()
        self.replacements = replacements

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        return self.replacements.get(original_node, updated_node)
