"""Editing one vendored file: renamed references, edited classes, absolute imports, header, pruning.

The vendored file is the original module with only what the plan changes: the classes it renames in place,
every reference to them (found by LibCST's scope analysis, so a local variable of the same name is left alone),
the class members and ``__init__`` methods it edits, the modified copies inserted after classes that stay.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
from collections.abc import Sequence

import libcst as cst
import libcst.matchers as m

from archit_codemod.declaration.editing.subclass import mangled
from archit_codemod.declaration.sources.locate import ParsedSource, absolute_module


def with_custom_intro(decorator: cst.Decorator, original_name: str) -> cst.Decorator:
    """``@auto_docstring`` derives a class's documentation from its name, which transformers 4.57 refuses for
    a name it does not know (``...ForMaskedLMModified``); an explicit ``custom_intro`` is what it asks for."""
    intro = cst.Arg(
        cst.SimpleString(f'"{original_name} with the modifications traced by archit_codemod."'),
        keyword=cst.Name("custom_intro"),
        equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
    )
    if m.matches(decorator.decorator, m.Name("auto_docstring")):
        return decorator.with_changes(decorator=cst.Call(cst.Name("auto_docstring"), [intro]))
    if m.matches(decorator.decorator, m.Call(func=m.Name("auto_docstring"))):
        call = decorator.decorator
        if any(m.matches(arg.keyword, m.Name("custom_intro")) for arg in call.args):
            return decorator
        args = list(call.args)
        if args:
            args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        return decorator.with_changes(decorator=call.with_changes(args=[*args, intro]))
    return decorator


def _renamed(references: dict[int, str], original: cst.CSTNode, updated: cst.CSTNode) -> cst.CSTNode:
    new = references.get(id(original))
    if new is None:
        return updated
    if isinstance(updated, cst.SimpleString):
        return updated.with_changes(value=f"{updated.prefix}{updated.quote}{new}{updated.quote}")
    return updated.with_changes(value=new)


class RenameReferences(cst.CSTTransformer):
    """Rename the nodes of ``references`` (found by identity)."""

    def __init__(self, references: dict[int, str]):
        super().__init__()
        self.references = references

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        return _renamed(self.references, original_node, updated_node)

    def leave_SimpleString(
        self, original_node: cst.SimpleString, updated_node: cst.SimpleString
    ) -> cst.SimpleString:
        return _renamed(self.references, original_node, updated_node)


class KeepPrivateNames(cst.CSTTransformer):
    """In the body of a renamed class, private names written as the original class stores them.

    Python mangles ``self.__scale`` inside ``class HolderModified`` to ``_HolderModified__scale``: another attribute
    than the traced model's (and its checkpoint's) ``_Holder__scale``. Nested classes mangle with their own name.
    A bare name that the module binds (``__HEAD_MASK_WARNING_MSG``) stays as written: Python mangles it in the
    original class as well, so it behaves the same either way, and the line stays as in the original.

        self.__scale = nn.Identity()  ->  self._Holder__scale = nn.Identity()
    """

    def __init__(self, original_name: str, module_globals: set[str]) -> None:
        super().__init__()
        self.original_name = original_name
        self.module_globals = module_globals
        self._attributes: set[int] = set()

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self._attributes.add(id(node.attr))

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        if id(original_node) not in self._attributes and updated_node.value in self.module_globals:
            return updated_node
        name = mangled(updated_node.value, self.original_name)
        return updated_node if name == updated_node.value else updated_node.with_changes(value=name)


def member_name(statement: cst.CSTNode) -> str | None:
    if isinstance(statement, cst.FunctionDef | cst.ClassDef):
        return statement.name.value
    if m.matches(statement, m.SimpleStatementLine(body=[m.Assign(targets=[m.AssignTarget(m.Name())])])):
        return statement.body[0].targets[0].target.value
    if m.matches(statement, m.SimpleStatementLine(body=[m.AnnAssign(target=m.Name())])):
        return statement.body[0].target.value
    return None


def insert_member(body: list, member: cst.BaseStatement, *, before_methods: bool) -> list:
    body = list(body)
    if len(body) == 1 and m.matches(body[0], m.SimpleStatementLine(body=[m.Pass()])):
        return [member.with_changes(leading_lines=[])]
    if before_methods:
        at = next((i for i, s in enumerate(body) if isinstance(s, cst.FunctionDef)), len(body))
    else:
        at = len(body)
    body.insert(at, member)
    return body


def replace_or_insert_member(body: list, member: cst.BaseStatement) -> list:
    """Put the planner's class attribute or method in place of the original one of the same name."""
    name = member_name(member)
    comments = [line for line in member.leading_lines if line.comment is not None]
    for index, statement in enumerate(body):
        if name is not None and member_name(statement) == name:
            body = list(body)
            body[index] = member.with_changes(leading_lines=[*statement.leading_lines, *comments])
            return body
    return insert_member(body, member, before_methods=isinstance(member, cst.SimpleStatementLine))


def insert_imports(module: cst.Module, lines: Sequence[str]) -> cst.Module:
    """``module`` with ``lines`` added after its last top-level import (existing lines left as they are)."""
    if not lines:
        return module
    statements = [cst.parse_statement(line + "\n") for line in lines]
    body = list(module.body)
    last = -1
    for index, statement in enumerate(body):
        if m.matches(statement, m.SimpleStatementLine(body=[m.Import() | m.ImportFrom()])):
            last = index
        elif isinstance(statement, cst.ClassDef | cst.FunctionDef):
            break
    if last == -1:
        # No import: after a leading docstring, if any.
        last = (
            0 if body and m.matches(body[0], m.SimpleStatementLine(body=[m.Expr(m.SimpleString())])) else -1
        )
    body[last + 1 : last + 1] = statements
    return module.with_changes(body=body)


def with_header(module: cst.Module, lines: Sequence[str]) -> cst.Module:
    header = [cst.EmptyLine(comment=cst.Comment(line)) for line in lines]
    rest = list(module.header)
    if rest and rest[0].comment is not None:
        header.append(cst.EmptyLine())
    elif not rest and module.body:
        header.append(cst.EmptyLine())
    return module.with_changes(header=[*header, *rest])


def prune(module: cst.Module, roots: set[str]) -> cst.Module:
    """Drop top-level classes and functions that nothing kept reaches from ``roots``."""
    definitions: dict[str, cst.CSTNode] = {}
    for statement in module.body:
        if isinstance(statement, cst.ClassDef | cst.FunctionDef):
            definitions[statement.name.value] = statement
    kept: set[str] = set()
    pending = [name for name in roots if name in definitions]
    # Statements that are not definitions (constants, registrations) keep what they use.
    for statement in module.body:
        if not isinstance(statement, cst.ClassDef | cst.FunctionDef) and member_name(statement) != "__all__":
            pending.extend(name.value for name in m.findall(statement, m.Name()) if name.value in definitions)
    while pending:
        name = pending.pop()
        if name in kept:
            continue
        kept.add(name)
        pending.extend(n.value for n in m.findall(definitions[name], m.Name()) if n.value in definitions)
    dropped = set(definitions) - kept
    body = []
    for statement in module.body:
        if isinstance(statement, cst.ClassDef | cst.FunctionDef) and statement.name.value in dropped:
            continue
        if member_name(statement) == "__all__" and isinstance(statement.body[0].value, cst.List | cst.Tuple):
            value = statement.body[0].value
            elements = [
                e
                for e in value.elements
                if not (isinstance(e.value, cst.SimpleString) and e.value.evaluated_value in dropped)
            ]
            if elements:
                elements[-1] = elements[-1].with_changes(comma=value.elements[-1].comma)
            statement = statement.with_changes(
                body=[statement.body[0].with_changes(value=value.with_changes(elements=elements))]
            )
        body.append(statement)
    return module.with_changes(body=body)


@functools.cache
def distribution_version(module_name: str) -> str:
    """`` (transformers 5.24.0)`` for a module of an installed distribution, "" otherwise."""
    top = module_name.split(".")[0]
    # The distribution named as the package first: mapping every installed package to its distributions reads the
    # metadata of all of them.
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        return f" ({top} {importlib.metadata.version(top)})"
    for distribution in importlib.metadata.packages_distributions().get(top, []):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            return f" ({distribution} {importlib.metadata.version(distribution)})"
    return ""


RENAMED_IN_PLACE = frozenset({"__all__", "_no_split_modules"})
"""Assignments that list classes by name; a vendored file renames the names in place."""


def list_beyond_renames(
    member: cst.SimpleStatementLine, renames: dict[str, str], original: Sequence[str]
) -> cst.SimpleStatementLine | None:
    """A planned class list (``_no_split_modules = [...]``) as the vendored class needs it, or ``None`` when the
    original list, renamed in place, says the same already.

    The plan lists the original classes and their new versions. A class renamed in place is renamed in the list
    too; a class of another name (a modified copy beside the kept original, a replacement class of the script's
    that subclasses a listed one) must be added, or ``device_map="auto"`` may split it.

        ["RobertaLayer", "ScaledRobertaLayer"]  ->  _no_split_modules = ["RobertaLayer", "ScaledRobertaLayer"]
        ["BertLayer", "BertLayerModified"]       ->  None (BertLayer is renamed BertLayerModified in place)
    """
    value = member.body[0].value
    names = [element.value.evaluated_value for element in value.elements]
    needed = list(dict.fromkeys(renames.get(name, name) for name in names))
    if set(needed) == {renames.get(name, name) for name in original}:
        return None
    elements = ", ".join(f'"{name}"' for name in needed)
    return cst.parse_statement(f"{member_name(member)} = [{elements}]\n").with_changes(
        leading_lines=member.leading_lines
    )


def reference_renames(parsed: ParsedSource, renamed: dict[int, str]) -> dict[int, str]:
    """``id(node) -> new name`` for every reference to a class renamed in place.

    ``renamed`` maps ``id(ClassDef)`` of each class of ``parsed`` that is renamed in place to its new name.
    """
    found: dict[int, str] = {}
    if not renamed:
        return found
    scope = parsed.scopes[parsed.module]  # with every reference, also those inside functions
    for statement in parsed.module.body:
        if not isinstance(statement, cst.ClassDef) or id(statement) not in renamed:
            continue
        old, new = statement.name.value, renamed[id(statement)]
        for assignment in scope[old]:
            if getattr(assignment, "node", None) is not statement:
                continue
            for access in assignment.references:
                node = access.node
                if isinstance(node, cst.Name) or (
                    isinstance(node, cst.SimpleString) and node.evaluated_value == old
                ):
                    found[id(node)] = new
    return found


class RenameClassLists(cst.CSTTransformer):
    """Rename the classes named by string in ``__all__`` and ``_no_split_modules`` lists.

    _no_split_modules = ["BertLayer"]  ->  _no_split_modules = ["BertLayerModified"]
    """

    def __init__(self, renames: dict[str, str]) -> None:
        super().__init__()
        self.renames = renames

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        if not (
            len(updated_node.targets) == 1
            and member_name(cst.SimpleStatementLine([updated_node])) in RENAMED_IN_PLACE
            and isinstance(updated_node.value, cst.List | cst.Tuple)
        ):
            return updated_node
        elements = []
        for element in updated_node.value.elements:
            value = element.value
            if isinstance(value, cst.SimpleString) and value.evaluated_value in self.renames:
                new = self.renames[value.evaluated_value]
                value = value.with_changes(value=f"{value.prefix}{value.quote}{new}{value.quote}")
            elements.append(element.with_changes(value=value))
        return updated_node.with_changes(value=updated_node.value.with_changes(elements=elements))


class AbsoluteImports(cst.CSTTransformer):
    """Relative imports made absolute, so the file imports from wherever it is copied.

    from ...activations import ACT2FN  ->  from transformers.activations import ACT2FN
    """

    def __init__(self, parsed: ParsedSource) -> None:
        super().__init__()
        self.parsed = parsed

    def leave_ImportFrom(self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom) -> cst.ImportFrom:
        if not original_node.relative:
            return updated_node
        absolute = absolute_module(self.parsed, original_node)
        return updated_node.with_changes(relative=[], module=cst.parse_expression(absolute))
