"""How the instantiation modules depend on each other: no import cycle, and no class changed from outside its body."""

import ast
import importlib
import inspect
import textwrap
from pathlib import Path

import archit_codemod.instantiation as instantiation
from archit_codemod.instantiation.abstracts import Head

PACKAGE = instantiation.__name__
ROOT = Path(instantiation.__file__).parent


def module_files() -> dict[str, Path]:
    """Module name -> file, for every module of the instantiation package (packages by their ``__init__.py``), read
    from the folder: nothing is imported."""
    files = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        files[".".join((PACKAGE, *parts))] = path
    return files


def _typeCheckingBlocks(tree: ast.Module) -> set[ast.AST]:
    """The nodes under ``if TYPE_CHECKING:``: imports for annotations only, never run."""
    guarded: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            guarded.update(ast.walk(node))
    return guarded


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that module ``name`` runs by its imports, at module level or inside functions.

    ``from a.b import c`` imports ``a.b.c`` when that is a module, else ``a.b``; and importing a module first runs
    the ``__init__`` of each package above it, so those packages count too, except the packages ``name`` is in
    (already running when ``name`` runs)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    guarded = _typeCheckingBlocks(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    own_packages = {".".join(package.split(".")[:length]) for length in range(1, package.count(".") + 2)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if node in guarded:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join([*parts[: len(parts) - node.level + 1], *([base] if base else [])])
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names
            ]
        else:
            continue
        for target in targets:
            while target not in known and "." in target:
                target = target.rpartition(".")[0]
            parts = target.split(".")
            run = {".".join(parts[:length]) for length in range(1, len(parts) + 1)} - own_packages
            found.update(module for module in run if module in known and module != name)
    return found


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The cycles of ``graph``: each strongly connected component of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    lowest: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = lowest[module] = len(index)
        stack.append(module)
        for imported in sorted(graph[module]):
            if imported not in index:
                visit(imported)
                lowest[module] = min(lowest[module], lowest[imported])
            elif imported in stack:
                lowest[module] = min(lowest[module], index[imported])
        if lowest[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return cycles


def test_the_cycle_finder_finds_a_cycle():
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_reader_follows_relative_and_function_level_imports(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text(
        textwrap.dedent(
            """
            from typing import TYPE_CHECKING
            from . import sibling
            from .sub.deep import name

            if TYPE_CHECKING:
                from pkg import annotations_only

            def later():
                from pkg.lazy import thing
            """
        ),
        encoding="utf-8",
    )
    known = {"pkg", "pkg.mod", "pkg.sibling", "pkg.sub", "pkg.sub.deep", "pkg.lazy", "pkg.annotations_only"}
    # pkg.sub: importing pkg.sub.deep runs pkg/sub/__init__.py first; pkg itself is already running
    assert imported_modules("pkg.mod", source, known) == {
        "pkg.sibling",
        "pkg.sub",
        "pkg.sub.deep",
        "pkg.lazy",
    }


def test_no_import_cycle_within_instantiation():
    """Imports inside functions count (they are the same dependency, only later); imports under ``TYPE_CHECKING``
    do not (annotations only: ``loading`` names the ``ModelWithHead`` it receives)."""
    files = module_files()
    graph = {name: imported_modules(name, path, set(files)) for name, path in files.items()}
    assert import_cycles(graph) == []


def _namesBoundInClassBody(klass: type) -> set[str]:
    body = ast.parse(textwrap.dedent(inspect.getsource(klass))).body[0]
    names = set()
    for statement in body.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(statement.name)
        elif isinstance(statement, ast.Assign):
            names.update(target.id for target in statement.targets if isinstance(target, ast.Name))
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            names.add(statement.target.id)
    return names


def _headClasses() -> list[type]:
    # The packages of heads and tasks import every module that defines a head class.
    importlib.import_module(f"{PACKAGE}.heads")
    importlib.import_module(f"{PACKAGE}.tasks")
    found, pending = [], [Head]
    while pending:
        klass = pending.pop()
        found.append(klass)
        pending.extend(klass.__subclasses__())
    return [klass for klass in found if klass.__module__.startswith(PACKAGE)]


def test_no_head_class_holds_an_attribute_its_body_does_not_define():
    """How a head reuses a transformers head is declared in its class body, not set on it when a package is imported."""
    bookkeeping = {
        "__module__",
        "__qualname__",
        "__doc__",
        "__dict__",
        "__weakref__",
        "__parameters__",
        "__orig_bases__",
        "__abstractmethods__",
        "_abc_impl",
        "__annotations__",
        "__static_attributes__",
        "__firstlineno__",
    }
    written_from_outside = {
        klass.__name__: sorted(set(vars(klass)) - bookkeeping - _namesBoundInClassBody(klass))
        for klass in _headClasses()
    }
    assert {name: names for name, names in written_from_outside.items() if names} == {}
