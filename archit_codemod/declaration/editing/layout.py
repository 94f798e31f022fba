"""Lay out the statements the codemod wrote as ``ruff format`` would, leaving every other line as it was.

A rewritten statement mixes original source with rendered code (``LoRALinear(<the original multi-line
nn.Linear(...)>, r=16, alpha=32)``), so its original line breaks no longer fit. Each rewritten statement is
laid out again, deterministically and without ruff (a development tool, not a dependency):

- it stays on one line when that fits in :data:`LINE_LENGTH` and no bracket in it ends with a trailing
  comma (ruff's "magic trailing comma", which keeps a bracket one item per line);
- otherwise the last bracket of the statement is split: a call's arguments on one indented line if they
  fit there, else (and always for a list, tuple, set or dict of several items) one per line with a trailing
  comma, each item laid out the same way; a comprehension puts its
  element and each ``for``/``if`` clause on lines of their own, a conditional expression that does not fit
  on its own line is parenthesised and split before ``if`` and ``else``.

Statements with comments inside their brackets are left as they are (flattening would lose them).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import libcst as cst
import libcst.matchers as m

LINE_LENGTH = 119
"""The line length of every generated file (imports included): transformers' own, since most generated code is
transformers code, so ``ruff format --line-length 119`` leaves generated files unchanged."""

_INDENT = 4

_SEQUENCES = (cst.Call, cst.List, cst.Tuple, cst.Set, cst.Dict)
_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


class _Flatten(cst.CSTTransformer):
    """Every line break inside brackets removed, with ruff's spacing; trailing commas dropped."""

    def leave_ParenthesizedWhitespace(
        self, original_node: cst.ParenthesizedWhitespace, updated_node: cst.ParenthesizedWhitespace
    ) -> cst.BaseParenthesizableWhitespace:
        return cst.SimpleWhitespace(" ")

    def leave_Comma(self, original_node: cst.Comma, updated_node: cst.Comma) -> cst.Comma:
        return updated_node.with_changes(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(" ")
        )

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        return updated_node.with_changes(whitespace_after_arg=cst.SimpleWhitespace(""))

    def _open(self, node):
        return node.with_changes(whitespace_after=cst.SimpleWhitespace(""))

    def _close(self, node):
        return node.with_changes(whitespace_before=cst.SimpleWhitespace(""))

    def leave_LeftParen(self, original_node, updated_node):
        return self._open(updated_node)

    def leave_LeftSquareBracket(self, original_node, updated_node):
        return self._open(updated_node)

    def leave_LeftCurlyBrace(self, original_node, updated_node):
        return self._open(updated_node)

    def leave_RightParen(self, original_node, updated_node):
        return self._close(updated_node)

    def leave_RightSquareBracket(self, original_node, updated_node):
        return self._close(updated_node)

    def leave_RightCurlyBrace(self, original_node, updated_node):
        return self._close(updated_node)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        return updated_node.with_changes(
            whitespace_after_func=cst.SimpleWhitespace(""),
            whitespace_before_args=cst.SimpleWhitespace(""),
            args=_without_trailing_comma(updated_node.args),
        )

    def leave_List(self, original_node: cst.List, updated_node: cst.List) -> cst.List:
        return updated_node.with_changes(elements=_without_trailing_comma(updated_node.elements))

    def leave_Set(self, original_node: cst.Set, updated_node: cst.Set) -> cst.Set:
        return updated_node.with_changes(elements=_without_trailing_comma(updated_node.elements))

    def leave_Dict(self, original_node: cst.Dict, updated_node: cst.Dict) -> cst.Dict:
        return updated_node.with_changes(elements=_without_trailing_comma(updated_node.elements))

    def leave_Tuple(self, original_node: cst.Tuple, updated_node: cst.Tuple) -> cst.Tuple:
        if len(updated_node.elements) == 1:
            return updated_node  # (x,) needs its comma
        return updated_node.with_changes(elements=_without_trailing_comma(updated_node.elements))


def _without_trailing_comma(items: Iterable) -> list:
    items = list(items)
    if items:
        items[-1] = items[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return items


def _flat(node: cst.CSTNode) -> str:
    return _code(node.visit(_Flatten()))


def _items(node: cst.CSTNode) -> list:
    return list(node.args if isinstance(node, cst.Call) else node.elements)


def _has_magic_comma(node: cst.CSTNode) -> bool:
    """Whether this bracket ends with a trailing comma (a one-element tuple's comma does not count)."""
    if not isinstance(node, _SEQUENCES):
        return False
    items = _items(node)
    if not items or (isinstance(node, cst.Tuple) and len(items) == 1):
        return False
    return isinstance(items[-1].comma, cst.Comma)


def _must_split(node: cst.CSTNode) -> bool:
    return _has_magic_comma(node) or any(
        _has_magic_comma(inner)
        for inner in m.findall(node, m.Call() | m.List() | m.Tuple() | m.Set() | m.Dict())
    )


def _has_comment(node: cst.CSTNode) -> bool:
    return bool(m.findall(node, m.Comment()))


def _brackets(node: cst.CSTNode) -> tuple[str, str] | None:
    """The text before the items of a bracket and its closing bracket."""
    if isinstance(node, cst.Call):
        return _flat(node.func) + "(", ")"
    pairs = {cst.List: ("[", "]"), cst.Tuple: ("(", ")"), cst.Set: ("{", "}"), cst.Dict: ("{", "}")}
    pairs.update({cst.ListComp: ("[", "]"), cst.SetComp: ("{", "}"), cst.DictComp: ("{", "}")})
    pairs[cst.GeneratorExp] = ("(", ")")
    for kind, pair in pairs.items():
        if isinstance(node, kind):
            return pair
    return None


def _item(item: cst.CSTNode, indent: int, column: int, tail: int) -> str:
    """One item of a bracket (an argument, an element, a dict entry) at ``column``."""
    if isinstance(item, cst.Arg):
        prefix = item.star + (f"{item.keyword.value}=" if item.keyword is not None else "")
        return prefix + _layout(item.value, indent, column + len(prefix), tail)
    if isinstance(item, cst.DictElement):
        prefix = f"{_flat(item.key)}: "
        return prefix + _layout(item.value, indent, column + len(prefix), tail)
    if isinstance(item, cst.StarredDictElement):
        return "**" + _layout(item.value, indent, column + 2, tail)
    if isinstance(item, cst.StarredElement):
        return "*" + _layout(item.value, indent, column + 1, tail)
    return _layout(item.value, indent, column, tail)


def _flat_item(item: cst.CSTNode) -> str:
    return _flat(item.with_changes(comma=cst.MaybeSentinel.DEFAULT))


def _layout(node: cst.BaseExpression, indent: int, column: int, tail: int) -> str:
    """``node``'s code, starting at ``column`` on a line indented by ``indent``, followed by ``tail`` characters."""
    flat = _flat(node)
    if column + len(flat) + tail <= LINE_LENGTH and not _must_split(node):
        return flat
    if node.lpar and not isinstance(node, cst.Tuple):
        return flat  # a parenthesised expression is left to the reader
    inner = indent + _INDENT
    pad, closing_pad = " " * inner, " " * indent
    if isinstance(node, cst.Subscript):
        rest = flat[len(_flat(node.value)) :]
        return _layout(node.value, indent, column, tail + len(rest)) + rest
    if isinstance(node, cst.BinaryOperation):
        rest = flat[len(_flat(node.left)) :]
        return _layout(node.left, indent, column, tail + len(rest)) + rest
    if isinstance(node, cst.IfExp):
        parts = [_layout(node.body, inner, inner, 0), f"if {_flat(node.test)}", f"else {_flat(node.orelse)}"]
        return "(\n" + "".join(f"{pad}{part}\n" for part in parts) + closing_pad + ")"
    brackets = _brackets(node)
    if brackets is None:
        return flat
    opening, closing = brackets
    if isinstance(node, _COMPREHENSIONS):
        if isinstance(node, cst.DictComp):
            element = f"{_flat(node.key)}: " + _layout(node.value, inner, inner + len(_flat(node.key)) + 2, 0)
        else:
            element = _layout(node.elt, inner, inner, 0)
        lines = [element, *_clauses(node.for_in)]
        return opening + "\n" + "".join(f"{pad}{line}\n" for line in lines) + closing_pad + closing
    items = _items(node)
    if not items:
        return flat
    if not _must_split(node):
        joined = ", ".join(_flat_item(item) for item in items)
        # ruff keeps a call's arguments together on one line when they fit; a list, tuple, set or dict
        # display of several items goes one item per line.
        if inner + len(joined) <= LINE_LENGTH and (isinstance(node, cst.Call) or len(items) == 1):
            return f"{opening}\n{pad}{joined}\n{closing_pad}{closing}"
        if len(items) == 1 and not isinstance(node, cst.Tuple):
            return f"{opening}\n{pad}{_item(items[0], inner, inner, 0)}\n{closing_pad}{closing}"
    lines = [_item(item, inner, inner, 1) + "," for item in items]
    return opening + "\n" + "".join(f"{pad}{line}\n" for line in lines) + closing_pad + closing


def _clauses(loop: cst.CompFor | None) -> list[str]:
    clauses = []
    while loop is not None:
        prefix = "async for" if loop.asynchronous is not None else "for"
        clauses.append(f"{prefix} {_flat(loop.target)} in {_flat(loop.iter)}")
        clauses += [f"if {_flat(condition.test)}" for condition in loop.ifs]
        loop = loop.inner_for_in
    return clauses


def layout_statement(statement: cst.SimpleStatementLine, indent: int) -> cst.SimpleStatementLine:
    """``statement`` (indented by ``indent`` columns) laid out as described in the module docstring."""
    if len(statement.body) != 1 or _has_comment(
        statement.with_changes(leading_lines=(), trailing_whitespace=cst.TrailingWhitespace())
    ):
        return statement
    small = statement.body[0]
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        head, value = _flat(small.targets[0].target) + " = ", small.value
    elif isinstance(small, cst.AnnAssign) and small.value is not None:
        head, value = f"{_flat(small.target)}: {_flat(small.annotation.annotation)} = ", small.value
    elif isinstance(small, cst.Expr):
        head, value = "", small.value
    else:
        return statement
    laid_out = cst.parse_statement(_relative(head, value, indent) + "\n")
    return laid_out.with_changes(
        leading_lines=statement.leading_lines, trailing_whitespace=statement.trailing_whitespace
    )


def _relative(head: str, value: cst.BaseExpression, indent: int) -> str:
    """The statement's text with continuation lines indented relative to the statement (LibCST adds the rest)."""
    text = head + _layout(value, indent, indent + len(head), 0)
    first, *rest = text.split("\n")
    return "\n".join([first, *(line[indent:] if line.startswith(" " * indent) else line for line in rest)])


class LayoutRewritten(cst.CSTTransformer):
    """Lay out every simple statement whose code is not one of ``originals`` (the statements as written).

    ``indent`` is the indentation of the visited node's own statements' block minus one level: visiting a
    ``FunctionDef`` whose ``def`` is indented by 4, pass 4. ``original_nodes``, the original statements' nodes, are
    recognised by identity, without their code (passes that keep unchanged nodes as they were leave them there).
    """

    def __init__(
        self, originals: set[str], indent: int, original_nodes: frozenset[cst.CSTNode] = frozenset()
    ) -> None:
        super().__init__()
        self.originals = originals
        self.original_nodes = original_nodes
        self.indent = indent

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self.indent += _INDENT

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        self.indent -= _INDENT
        return updated_node

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        if original_node in self.original_nodes or statement_key(updated_node) in self.originals:
            return updated_node
        return layout_statement(updated_node, self.indent)


def statement_key(statement: cst.SimpleStatementLine) -> str:
    """A statement's code without the comment lines above it (what :class:`LayoutRewritten` compares)."""
    return _code(statement.with_changes(leading_lines=()))


def original_statements(nodes: Iterable[cst.CSTNode]) -> set[str]:
    """The :func:`statement_key` of every simple statement in ``nodes``."""
    return {key for node in nodes for key in _statement_keys(node)}


@functools.lru_cache(maxsize=256)
def statement_nodes(node: cst.CSTNode) -> frozenset[cst.CSTNode]:
    """Every simple statement in ``node`` (an original ``__init__``, read once however many classes copy it)."""
    return frozenset(m.findall(node, m.SimpleStatementLine()))


@functools.lru_cache(maxsize=256)
def _statement_keys(node: cst.CSTNode) -> frozenset[str]:
    # Nodes are compared by identity: an original ``__init__``, copied into many generated classes, is read once.
    return frozenset(map(statement_key, statement_nodes(node)))


class LayoutTooLong(LayoutRewritten):
    """Lay out only the statements not among ``originals`` that have a line longer than :data:`LINE_LENGTH`
    (a vendored file's references renamed with the suffix, a relative import made absolute); every other
    statement stays as written."""

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        if statement_key(updated_node) in self.originals:
            return updated_node
        lines = statement_key(updated_node).splitlines()
        if all(self.indent + len(line) <= LINE_LENGTH for line in lines):
            return updated_node
        if m.matches(updated_node, m.SimpleStatementLine(body=[m.ImportFrom()])):
            return updated_node.with_changes(body=[wrapped_import(updated_node.body[0])])
        return layout_statement(updated_node, self.indent)


def wrapped_import(node: cst.ImportFrom) -> cst.ImportFrom:
    """A ``from`` import longer than the line length as ``from x import (\n    a,\n    b,\n)``, as ruff wraps it."""
    if len(_code(node)) <= LINE_LENGTH or isinstance(node.names, cst.ImportStar):
        return node
    newline = cst.ParenthesizedWhitespace(
        first_line=cst.TrailingWhitespace(), indent=True, last_line=cst.SimpleWhitespace("    ")
    )
    closing = cst.ParenthesizedWhitespace(first_line=cst.TrailingWhitespace(), indent=True)
    aliases = [alias.with_changes(comma=cst.Comma(whitespace_after=newline)) for alias in node.names]
    aliases[-1] = aliases[-1].with_changes(comma=cst.Comma(whitespace_after=closing))
    return node.with_changes(
        names=aliases, lpar=cst.LeftParen(whitespace_after=newline), rpar=cst.RightParen()
    )
