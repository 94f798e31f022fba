"""Copy an ``__init__`` together with the ancestor ``__init__`` bodies it runs through ``super().__init__``.

A traced module's attribute may be built by an ancestor's ``__init__``: transformers 4.57's
``BertSdpaSelfAttention.__init__`` only calls ``super().__init__(config, position_embedding_type=...,
layer_idx=...)`` and leaves ``self.query = nn.Linear(config.hidden_size, self.all_head_size)`` to
``BertSelfAttention.__init__``. To rewrite that statement in a subclass of the traced class, the generated
``__init__`` is the traced class's own one with its ``super().__init__(...)`` statement replaced by the
ancestor's body, whose own ``super()`` becomes ``super(<Ancestor>, self)``::

    class BertSdpaSelfAttentionModified(BertSdpaSelfAttention):
        def __init__(self, config, position_embedding_type=None, layer_idx=None):
            # Inlined from BertSelfAttention.__init__, which BertSdpaSelfAttention.__init__ calls with the same arguments.
            super(BertSelfAttention, self).__init__()
            ...
            self.query = LoRALinear(nn.Linear(config.hidden_size, self.all_head_size), r=8, alpha=16)
            ...
            self.dropout_prob = config.attention_probs_dropout_prob

Inlining is exact only when the call passes each of its own parameters through unchanged under the
ancestor's parameter of the same name (so the inlined body reads the same values under the same names),
the two bodies share no local variable, and the ancestor's body does not ``return`` early. Anything else
is refused with the reason (:func:`inlining_problem`), and the caller falls back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import libcst as cst
import libcst.matchers as m
from libcst.metadata import MetadataWrapper, ScopeProvider

from archit_codemod.declaration.sources.locate import ClassSource

_SUPER_INIT_CALL = m.Call(
    func=m.Attribute(value=m.Call(func=m.Name("super"), args=[]), attr=m.Name("__init__"))
)
_SUPER_INIT_STATEMENT = m.SimpleStatementLine(body=[m.Expr(_SUPER_INIT_CALL)])
_DOCSTRING = m.SimpleStatementLine(body=[m.Expr(m.SimpleString() | m.ConcatenatedString())])

_ANY_SUPER_INIT_STATEMENT = m.SimpleStatementLine(
    body=[m.Expr(m.Call(func=m.Attribute(value=m.Call(func=m.Name("super")), attr=m.Name("__init__"))))]
)

Rewrite = Callable[[int, ClassSource, cst.FunctionDef], cst.FunctionDef]
"""A rewrite of one part of a copied ``__init__`` (its level, its class, its original ``FunctionDef``), made
before the parts are merged: the edits keyed by its original nodes, ``super()`` naming its class, ..."""


@dataclass(frozen=True)
class InitCopy:
    """The ``__init__`` copied into a generated class: its own class's, with ancestors' bodies inlined.

    ``fragments[0]`` is the class that defines the traced class's ``__init__``; each further fragment is the
    ancestor whose ``__init__`` body replaced the previous one's ``super().__init__(...)`` statement.
    """

    fragments: tuple[ClassSource, ...]

    def function(self, rewrite: Rewrite | None = None) -> cst.FunctionDef:
        """The merged ``__init__``; ``rewrite`` rewrites each class's part with that class at hand."""
        inner: list[cst.BaseStatement] | None = None
        for level in range(len(self.fragments) - 1, -1, -1):
            source = self.fragments[level]
            function = rewrite(level, source, source.init_def) if rewrite is not None else source.init_def
            statements = list(function.body.body)
            if inner is not None:
                # Found again after the rewrite (which may remove statements, and rewrites super()).
                index = next(i for i, s in enumerate(statements) if m.matches(s, _ANY_SUPER_INIT_STATEMENT))
                replaced = statements[index]
                inherited = self.fragments[level + 1]
                note = (
                    f"# Inlined from {inherited.definer.__name__}.__init__, which {source.definer.__name__}.__init__ "
                    "calls with the same arguments."
                )
                first = inner[0].with_changes(
                    leading_lines=[
                        *replaced.leading_lines,
                        cst.EmptyLine(comment=cst.Comment(note)),
                        *[line for line in inner[0].leading_lines if line.comment is not None],
                    ]
                )
                statements[index : index + 1] = [first, *inner[1:]]
            if level > 0 and statements and m.matches(statements[0], _DOCSTRING) and len(statements) > 1:
                statements = statements[1:]  # an inlined docstring would be a stray string statement
            inner = statements
            if level == 0:
                return function.with_changes(body=function.body.with_changes(body=inner))
        raise AssertionError("an InitCopy has at least one fragment")

    def fragment_of(self, node: cst.CSTNode) -> ClassSource | None:
        """The class whose original ``__init__`` holds ``node`` (a node of the unprepared :meth:`function`)."""
        for source in self.fragments:
            positions = source.positions
            if node in positions:
                init = positions[source.init_def]
                if init.start.line <= positions[node].start.line <= init.end.line:
                    return source
        return None

    def lines_of(self, node: cst.CSTNode) -> tuple[Path, int, int] | None:
        """``(file, first line, last line)`` of ``node`` (a node of the unprepared :meth:`function`)."""
        source = self.fragment_of(node)
        if source is None:
            return None
        position = source.positions[node]
        return source.parsed.path, position.start.line, position.end.line


def _super_init_index(function: cst.FunctionDef) -> int:
    return next(i for i, s in enumerate(function.body.body) if m.matches(s, _SUPER_INIT_STATEMENT))


def _parameters(function: cst.FunctionDef) -> tuple[list[str], list[str], bool]:
    """``(positional names without self, keyword-only names, has *args or **kwargs)``."""
    params = function.params
    positional = [p.name.value for p in [*params.posonly_params, *params.params]][1:]
    keyword_only = [p.name.value for p in params.kwonly_params]
    starred = isinstance(params.star_arg, cst.Param) or params.star_kwarg is not None
    return positional, keyword_only, starred


def _bound_locals(function: cst.FunctionDef) -> set[str]:
    """Names the function binds in its own scope (parameters included)."""
    wrapper = MetadataWrapper(cst.Module(body=[function]), unsafe_skip_copy=True)  # names are read, not nodes
    scopes = wrapper.resolve(ScopeProvider)
    body = wrapper.module.body[0].body.body
    if not body:
        return set()
    scope = scopes[body[0]]
    return {assignment.name for assignment in scope.assignments} if scope is not None else set()


class _NameReads(cst.CSTVisitor):
    """Every identifier used as a variable (``x``, the ``self`` of ``self.x``; not the ``x`` of ``self.x``)."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return False

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)


def _names(nodes: Sequence[cst.CSTNode]) -> set[str]:
    visitor = _NameReads()
    for node in nodes:
        node.visit(visitor)
    return visitor.names


class _EarlyReturn(cst.CSTVisitor):
    """Whether a function body returns (outside nested functions and lambdas)."""

    def __init__(self) -> None:
        self.found = False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Return(self, node: cst.Return) -> None:
        self.found = True


def inlining_problem(caller: ClassSource, callee: ClassSource) -> str | None:
    """Why ``callee.__init__``'s body cannot replace ``caller.__init__``'s ``super().__init__(...)``; ``None`` if it can."""
    if callee.runs_a_wrapper:
        return f"{callee.definer.__name__}.__init__ is wrapped by a decorator, which does more than its body"
    function = caller.init_def
    calls = m.findall(function.body, _SUPER_INIT_CALL)
    top_level = [s for s in function.body.body if m.matches(s, _SUPER_INIT_STATEMENT)]
    if len(calls) != 1 or len(top_level) != 1:
        return f"{caller.definer.__name__}.__init__ does not call super().__init__(...) exactly once, as a statement of its own"
    if caller.self_name != callee.self_name:
        return f"the two __init__ methods name their first parameter differently ({caller.self_name}, {callee.self_name})"
    caller_positional, caller_keyword_only, _ = _parameters(function)
    callee_positional, callee_keyword_only, callee_starred = _parameters(callee.init_def)
    if callee_starred:
        return f"{callee.definer.__name__}.__init__ takes *args or **kwargs"
    own = set(caller_positional) | set(caller_keyword_only)
    passed: list[str] = []
    for index, arg in enumerate(calls[0].args):
        value = arg.value
        if arg.star or not isinstance(value, cst.Name) or value.value not in own:
            return "super().__init__(...) passes something other than the caller's own parameters"
        if arg.keyword is None:
            if index >= len(callee_positional) or callee_positional[index] != value.value:
                return f"super().__init__(...) passes {value.value} positionally to another parameter"
        elif arg.keyword.value != value.value:
            return f"super().__init__(...) passes {value.value} as {arg.keyword.value}"
        passed.append(value.value)
    missing = set(callee_positional) | set(callee_keyword_only)
    missing -= set(passed)
    if missing:
        return f"super().__init__(...) leaves {', '.join(sorted(missing))} to its default"
    visitor = _EarlyReturn()
    callee.init_def.body.visit(visitor)
    if visitor.found:
        return f"{callee.definer.__name__}.__init__ returns early"
    index = _super_init_index(function)
    rest = [s for i, s in enumerate(function.body.body) if i != index]
    rest_function = function.with_changes(
        body=function.body.with_changes(body=rest or [cst.SimpleStatementLine([cst.Pass()])])
    )
    shared = {*passed, caller.self_name}
    own.add(caller.self_name)
    caller_locals = _bound_locals(rest_function) - own
    callee_locals = _bound_locals(callee.init_def) - shared
    clashes = (caller_locals & _names(callee.init_def.body.body)) | (callee_locals & _names(rest))
    clashes |= (own - shared) & _names(callee.init_def.body.body)
    if clashes:
        return f"the two __init__ bodies share the local names {', '.join(sorted(clashes))}"
    return None
