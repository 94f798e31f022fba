"""Helpers that read and run a generated ``Output`` the same way in both modes.

The declaration tests run each case twice (the ``mode`` fixture of ``conftest.py``): subclass mode writes one
module of subclasses, vendor mode edited copies of the original files. Both are imported as a package, the way
their users import them, and a generated class is found where its mode puts it.
"""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Iterator
from pathlib import Path

from torch import nn

from archit_codemod.declaration.api import generate, verify
from archit_codemod.declaration.checking.completeness import roots_to_declare
from archit_codemod.declaration.checking.verify import build_root, load_output
from archit_codemod.declaration.emitting.output import GeneratedFile, Output
from archit_codemod.declaration.records import Trace
from archit_codemod.declaration.tracing.tracer import run_script

MODES = ("subclass", "vendor")


def declared(script: Path, mode: str) -> tuple[Trace, dict[str, nn.Module], Output]:
    """``script`` traced, every modified root declared in ``mode``, and the output verified."""
    trace = run_script(script)
    roots = roots_to_declare(trace)
    output = generate(trace, roots, mode=mode)
    verify(output, trace, roots)
    return trace, roots, output


@contextlib.contextmanager
def rebuilt_root(output: Output, trace: Trace, traced: nn.Module, root: str = "model") -> Iterator[nn.Module]:
    """The root ``root`` built from the generated code as ``traced`` was built, while its package is imported."""
    with load_output(output) as package:
        module, class_name = output.roots[root]
        yield build_root(package.module(module), class_name, traced, trace)


@contextlib.contextmanager
def imported_root(output: Output, root: str) -> Iterator[type[nn.Module]]:
    """The generated class of the root model ``root``, imported with its package (subclass mode: one file)."""
    with load_output(output) as package:
        module, class_name = output.roots[root]
        yield getattr(package.module(module), class_name)


def file_of(output: Output, class_name: str) -> GeneratedFile:
    """The file of ``output`` that defines the generated class ``class_name``."""
    _, module = output.classes[class_name]
    return next(file for file in output.files if file.module == module)


def _class_node(text: str, class_name: str) -> ast.ClassDef:
    found = [n for n in ast.parse(text).body if isinstance(n, ast.ClassDef) and n.name == class_name]
    assert len(found) == 1, f"{len(found)} top-level classes named {class_name}"
    return found[0]


def _lines(text: str, node: ast.AST) -> str:
    return "".join(text.splitlines(keepends=True)[node.lineno - 1 : node.end_lineno])


def class_code(output: Output, class_name: str) -> str:
    """The source of the generated class ``class_name`` (its decorators left out), indented as in its file."""
    text = file_of(output, class_name).text
    return _lines(text, _class_node(text, class_name))


def init_code(output: Output, class_name: str) -> str:
    """The source of the generated class's ``__init__``, indented as in its file."""
    text = file_of(output, class_name).text
    class_node = _class_node(text, class_name)
    inits = [n for n in class_node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"]
    assert len(inits) == 1, f"{class_name} defines {len(inits)} __init__ methods"
    return _lines(text, inits[0])


def declared_code(output: Output) -> str:
    """The code of every generated class, in the order of ``output.classes``."""
    return "".join(class_code(output, name) for name in output.classes)


def output_text(output: Output) -> str:
    """The text of every file of the output, one after the other (subclass mode: its one file)."""
    return "".join(file.text for file in output.files)


def script_file(output: Output) -> GeneratedFile:
    """Vendor mode: the file of the script's own definitions that the vendored classes use."""
    [file] = [f for f in output.files if f.original_label is None]
    return file


@contextlib.contextmanager
def imported_folder(folder: Path) -> Iterator[dict[str, object]]:
    """Every module of a folder the command line wrote (vendor mode), imported as one package; yields the names
    they define, merged (the vendored file's classes and the script's definitions)."""
    files = tuple(GeneratedFile(path.name, "") for path in sorted(folder.glob("*.py")))
    with load_output(Output("vendor", files, {}), folder) as package:
        names: dict[str, object] = {}
        for file in files:
            module = package.module(file.module)
            names.update(
                (name, value)
                for name, value in vars(module).items()
                if getattr(value, "__module__", None) == module.__name__
            )
        yield names


def root_init_statements(output: Output, root: str = "model") -> list[str]:
    """The statements of the ``__init__`` of root ``root``'s generated class, each unparsed by ``ast``."""
    _, class_name = output.roots[root]
    class_node = _class_node(file_of(output, class_name).text, class_name)
    [init] = [n for n in class_node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"]
    return [ast.unparse(statement) for statement in init.body]
