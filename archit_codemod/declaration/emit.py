"""Assemble the generated module: header, imports, copied script definitions, generated classes.

Classes are ordered so that each is defined before it is used: the script's own definitions first (in
their order in the script), then the generated classes bottom-up, from the changed leaves to the roots.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor

from archit_codemod.declaration.layout import wrapped_import
from archit_codemod.declaration.names import NameTable
from archit_codemod.declaration.plan import GeneratedClass
from archit_codemod.writing import GENERATED_MARK


def header_lines(
    script_path: PurePath | None, root_names: Sequence[str], changes: Sequence[str] = ()
) -> list[str]:
    """The comment that opens every generated module: what made it, from what, and why each class exists.

    ``changes`` are the lines of :func:`~archit_codemod.declaration.provenance.change_lines`.
    """
    origin = f"the script {script_path}" if script_path is not None else "a traced Python session"
    roots = ", ".join(root_names) if root_names else "-"
    return [
        f"{GENERATED_MARK} from {origin} (root models: {roots}).",
        "# Each class subclasses the original and re-declares its __init__ with the traced modifications;",
        "# everything else is inherited. Regenerate instead of editing by hand.",
        *change_comment(changes),
    ]


def change_comment(changes: Sequence[str]) -> list[str]:
    """The header's list of where each generated class is used and which traced statement made it."""
    if not changes:
        return []
    return [
        "#",
        "# Where each class is used, and the traced statement that made it:",
        *(f"#   {c}" for c in changes),
    ]


def assemble(
    names: NameTable,
    generated: Sequence[GeneratedClass],
    *,
    script_path: PurePath | None,
    root_names: Sequence[str],
    changes: Sequence[str] = (),
) -> str:
    """The source of the generated module."""
    lines = header_lines(script_path, root_names, changes)
    header = [cst.EmptyLine(comment=cst.Comment(line)) for line in lines]
    body: list[cst.BaseStatement] = []
    for index, statement in enumerate(names.copied_statements.values()):
        body.append(statement.with_changes(leading_lines=[cst.EmptyLine()] if index == 0 else []))
    definitions = sorted(names.script_definitions.values(), key=lambda d: d.order)
    for node in [d.statement for d in definitions] + [g.class_def for g in generated]:
        comments = [line for line in node.leading_lines if line.comment is not None]
        body.append(node.with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine(), *comments]))
    return add_imports(cst.Module(body=body, header=header), names).code


def add_imports(module: cst.Module, names: NameTable) -> cst.Module:
    """``module`` with the imports ``names`` needs, added by LibCST's ``AddImportsVisitor``.

    The visitor sorts and merges them deterministically; it leaves line length and the blank lines around
    them to the caller, so long ``from`` imports are wrapped here as ruff would wrap them, and the imports
    are separated from the header by one blank line and from the first definition by two.
    """
    context = CodemodContext()
    for binding in names.imports.values():
        alias = (
            None
            if binding.name in (binding.attr, binding.module, binding.module.split(".")[0])
            else binding.name
        )
        AddImportsVisitor.add_needed_import(context, binding.module, binding.attr, alias)
    with_imports = AddImportsVisitor(context).transform_module(module.with_changes(body=list(module.body)))
    body = list(with_imports.body)
    count = len(body) - len(module.body)
    for index in range(count):
        statement = body[index]
        if m.matches(statement, m.SimpleStatementLine(body=[m.ImportFrom()])):
            statement = statement.with_changes(body=[wrapped_import(statement.body[0])])
        body[index] = statement.with_changes(leading_lines=[cst.EmptyLine()] if index == 0 else [])
    return with_imports.with_changes(body=body)
