"""The files of a standalone model folder (see :mod:`.bundle`), made from the source of the model's modules with LibCST.

Each module the model's classes need is copied as it is, except its imports of copied modules, which become
relative imports of the flat copies (``from archit_codemod.instantiation.abstracts.head import Head`` ->
``from .archit_codemod__instantiation__abstracts__head import Head``); a name imported from a package that re-exports it
is imported from the module that defines it, so package ``__init__`` files (and what they register) stay out. The
modules copied are those of the task, head, head-config and base-model classes and of the combined config, and every
module of this package or of the user's own code (not installed in site-packages) that they import at module level.
"""

from __future__ import annotations

import importlib
import sys
import sysconfig
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import libcst as cst

import archit_codemod
from archit_codemod.instantiation.configs import CombinedConfig
from archit_codemod.util import import_path, standaloneModuleName

__all__ = ["StandaloneError", "StandaloneSources", "standaloneSources"]

_PACKAGE = "archit_codemod"
# Modules of the package that never go into a standalone folder: they need libcst or register with transformers.
_NEVER_COPIED = ("archit_codemod.declaration", "archit_codemod.cli", "archit_codemod.__main__")
_INSTALLED_PATHS = tuple(
    str(Path(sysconfig.get_paths()[key]).resolve()) for key in ("stdlib", "platstdlib", "purelib", "platlib")
)


class StandaloneError(ValueError):
    """The model's classes cannot be written out as a standalone folder; the message says why and what to do."""


@dataclass(frozen=True)
class StandaloneSources:
    """The source files a standalone folder of a model needs besides what ``save_pretrained`` writes. Where they go
    (the entry module's file name, ``auto_map``) is :mod:`.bundle`'s to say."""

    # File name -> text of each copied module.
    copies: dict[str, str]
    # Text of the entry module: imports of the classes auto_map names, and of one name of each copy.
    entry_module: str


def standaloneSources(model: Any) -> StandaloneSources:
    """The copied modules and the entry module of a standalone folder of ``model`` (a ``ModelWithHead``)."""
    exported = {
        "CombinedConfig": CombinedConfig,
        type(model).__name__: type(model),
        type(model.model).__name__: type(model.model),
        type(model.config.head_config).__name__: type(model.config.head_config),
    }
    shared = [CombinedConfig, *model.classesToShare()]
    for klass in shared:
        if klass.__module__ == "__main__" or "<locals>" in klass.__qualname__:
            raise StandaloneError(
                f"{import_path(klass)} is defined in a script or inside a function, so its source cannot be written "
                f"into a model folder. Fix: define {klass.__name__} at the top level of a module of your project."
            )
    roots = [klass.__module__ for klass in shared]
    modules = _moduleClosure(roots)
    copies = {f"{standaloneModuleName(name)}.py": _copyOfModule(name, modules) for name in sorted(modules)}
    return StandaloneSources(copies=copies, entry_module=_entryModule(exported, modules))


def _isCopied(module_name: str) -> bool:
    """Whether a module goes into standalone folders: this package's (but the declaration half), and the user's own
    modules (neither in the standard library nor installed in site-packages)."""
    if module_name == "__main__" or module_name.startswith(_NEVER_COPIED):
        return False
    if _isPackageModule(module_name):
        return True
    module = sys.modules.get(module_name) or importlib.import_module(module_name)
    origin = getattr(module, "__file__", None)
    if origin is None:
        return False
    return not str(Path(origin).resolve()).startswith(_INSTALLED_PATHS)


def _moduleClosure(roots: list[str]) -> set[str]:
    """The modules ``roots`` need: themselves and, transitively, the copied modules they import at module level."""
    found: set[str] = set()
    pending = list(dict.fromkeys(roots))
    while pending:
        name = pending.pop()
        if name in found or not _isCopied(name):
            continue
        found.add(name)
        collector = _ImportCollector(name)
        _parse(name).visit(collector)
        pending.extend(collector.imported)
    return found


def _parse(module_name: str) -> cst.Module:
    path = importlib.import_module(module_name).__file__
    return cst.parse_module(Path(path).read_text(encoding="utf-8"))


def _definingModule(package_or_module: str, name: str) -> str:
    """The module that defines ``name`` as imported from ``package_or_module`` (a package may re-export it)."""
    value = getattr(importlib.import_module(package_or_module), name, None)
    if isinstance(value, types.ModuleType):
        return value.__name__
    defining = getattr(value, "__module__", None)
    if isinstance(defining, str) and isinstance(value, (type, types.FunctionType)) and _isCopied(defining):
        return defining
    return package_or_module


def _dottedName(node: cst.BaseExpression | None) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dottedName(node.value)}.{node.attr.value}"
    return ""


class _ImportCollector(cst.CSTVisitor):
    """The copied modules a module imports outside function bodies (those it needs to be imported at all)."""

    def __init__(self, module_name: str):
        self.module_name = module_name
        self.imported: list[str] = []
        self._function_depth = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._function_depth += 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._function_depth -= 1

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            if _isCopied(_dottedName(alias.name)):
                raise StandaloneError(
                    f"{self.module_name} imports {_dottedName(alias.name)} with a plain `import`, which a standalone "
                    f"folder's flat copies cannot resolve. Fix: write `from {_dottedName(alias.name)} import ...`."
                )

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        source = _dottedName(node.module)
        if self._function_depth or node.relative or not source or not _isCopied(source):
            return
        if isinstance(node.names, cst.ImportStar):
            raise StandaloneError(f"{self.module_name} has `from {source} import *`; name what it imports.")
        self.imported.extend(_definingModule(source, alias.name.value) for alias in node.names)


class _RelativeImports(cst.CSTTransformer):
    """Turns imports of copied modules into relative imports of their flat copies, from the defining modules."""

    def __init__(self, copied: set[str]):
        self.copied = copied

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        if len(updated_node.body) != 1 or not isinstance(updated_node.body[0], cst.ImportFrom):
            return updated_node
        node = updated_node.body[0]
        source = _dottedName(node.module)
        if node.relative or isinstance(node.names, cst.ImportStar) or not source:
            return updated_node
        by_module: dict[str, list[cst.ImportAlias]] = {}
        for alias in node.names:
            by_module.setdefault(
                _definingModule(source, alias.name.value) if _isCopied(source) else "", []
            ).append(alias.with_changes(comma=cst.MaybeSentinel.DEFAULT))
        if not set(by_module) <= self.copied:
            return updated_node  # not copied: only inside functions, and only guarded (see _UnguardedImports)
        lines = [
            cst.SimpleStatementLine(
                body=[
                    cst.ImportFrom(
                        module=cst.Name(standaloneModuleName(module)), names=aliases, relative=[cst.Dot()]
                    )
                ]
            )
            for module, aliases in by_module.items()
        ]
        lines[0] = lines[0].with_changes(leading_lines=updated_node.leading_lines)
        return cst.FlattenSentinel(lines)


class _UnguardedImports(cst.CSTVisitor):
    """Imports of modules that are not copied, where transformers' check of remote code would see them (it skips
    ``try`` blocks): such a copy could not be loaded without this package."""

    def __init__(self) -> None:
        self.found: list[str] = []
        self._guarded = 0

    def visit_Try(self, node: cst.Try) -> None:
        self._guarded += 1

    def leave_Try(self, original_node: cst.Try) -> None:
        self._guarded -= 1

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        source = _dottedName(node.module)
        if not node.relative and source and not self._guarded and _isPackageModule(source):
            self.found.append(source)


def _isPackageModule(module_name: str) -> bool:
    return module_name == _PACKAGE or module_name.startswith(_PACKAGE + ".")


def _copyOfModule(module_name: str, copied: set[str]) -> str:
    rewritten = _parse(module_name).visit(_RelativeImports(copied))
    unguarded = _UnguardedImports()
    rewritten.visit(unguarded)
    if unguarded.found:
        raise StandaloneError(
            f"{module_name} imports {sorted(set(unguarded.found))} inside a function without a try/except "
            f"ImportError, so its copy would need archit_codemod installed. Fix: import it at module level, or guard "
            f"the import."
        )
    header = (
        f"# A copy of {module_name} (archit_codemod {archit_codemod.__version__}) in a standalone model folder: its\n"
        f"# imports of other copied modules are relative, the rest is the original source.\n"
    )
    return header + rewritten.code


def _entryModule(exported: dict[str, type], modules: set[str]) -> str:
    """The module ``auto_map`` points into: it imports the classes that the folder's config names, and one name of
    every other copied module. transformers 4.57 copies a local folder's remote code into its module cache only as
    far as the entry module's own relative imports reach, so every copy must be one of them."""
    imports = [(klass.__module__, klass.__name__, name) for name, klass in exported.items()]
    named = {module for module, _, _ in imports}
    imports += [(module, _onePublicName(module), None) for module in sorted(modules - named)]
    statements: list[cst.SimpleStatementLine] = [_line(cst.Expr(cst.SimpleString(_ENTRY_DOCSTRING)))]
    for index, (module, name, asname) in enumerate(imports):
        alias = cst.ImportAlias(name=cst.Name(name))
        if asname is not None and asname != name:
            alias = alias.with_changes(asname=cst.AsName(name=cst.Name(asname)))
        statement = cst.ImportFrom(
            module=cst.Name(standaloneModuleName(module)), names=[alias], relative=[cst.Dot()]
        )
        statements.append(_line(statement, blank_before=index in (0, len(exported))))
    exported_names = cst.List([cst.Element(cst.SimpleString(f'"{name}"')) for name in exported])
    statements.append(
        _line(
            cst.Assign(targets=[cst.AssignTarget(cst.Name("__all__"))], value=exported_names),
            blank_before=True,
        )
    )
    return cst.Module(body=statements).code


_ENTRY_DOCSTRING = '''"""Entry point of a model folder written by archit_codemod: the classes its config.json names (auto_map), imported
from the copies of their modules beside this file, then one name of each other copy (transformers copies the modules
that this file imports into its module cache)."""'''


def _line(statement: cst.BaseSmallStatement, blank_before: bool = False) -> cst.SimpleStatementLine:
    return cst.SimpleStatementLine(body=[statement], leading_lines=[cst.EmptyLine()] if blank_before else [])


def _onePublicName(module_name: str) -> str:
    """A name a copied module defines: the first of its ``__all__``, else its first top-level class or function."""
    module = importlib.import_module(module_name)
    names = list(getattr(module, "__all__", ()))
    names += [
        name
        for name, value in vars(module).items()
        if isinstance(value, (type, types.FunctionType)) and value.__module__ == module_name
    ]
    if not names:
        raise StandaloneError(
            f"{module_name} defines no class or function, so the entry module of a standalone folder cannot import "
            f"it. Fix: give it an __all__."
        )
    return names[0]
