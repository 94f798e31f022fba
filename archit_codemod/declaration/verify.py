"""Check that generated classes rebuild the traced model: same module tree, same parameters and buffers.

The generated source is imported on its own, in a fresh module that is registered in ``sys.modules``
only while it is imported (dataclasses need that) and removed afterwards. Each root's generated class is
built on the ``meta`` device, so no weights are allocated whatever the model's size.

Classes are compared faithfully, not by name: an imported class must be the traced class itself, a
generated class must subclass it, a class copied from the script must have the same bases and the same
code, and a parametrized module (weight norm) compares by the class it parametrizes. Parameters that are
one tensor in the traced model (tied or shared) must be one tensor in the generated model too.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
import itertools
import sys
import tempfile
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from archit_codemod.declaration.emitting.output import GeneratedFile, Output
from archit_codemod.declaration.errors import VerificationError
from archit_codemod.declaration.records import Trace

_counter = itertools.count()


class LoadedOutput:
    """The generated files imported as one package, under a fresh name so that nothing clashes."""

    def __init__(self, name: str):
        self.name = name

    def module(self, stem: str) -> types.ModuleType:
        return importlib.import_module(f"{self.name}.{stem}")


@contextlib.contextmanager
def load_output(output: Output, directory: Path | None = None) -> Iterator[LoadedOutput]:
    """Import ``output``'s files as a package (written to ``directory``, a temporary folder by default).

    The package is imported as its users will import it: from its own folder, with nothing of the traced
    script's folder on ``sys.path``. The package and its modules leave ``sys.modules`` afterwards.
    """
    with contextlib.ExitStack() as stack:
        if directory is None:
            directory = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="archit_codemod_output_"))
            )
            for file in output.files:
                (directory / file.name).write_text(file.text, encoding="utf-8")
        name = f"archit_codemod_output_{next(_counter)}"
        package = types.ModuleType(name)
        package.__path__ = [str(directory)]
        package.__package__ = name
        sys.modules[name] = package
        try:
            yield LoadedOutput(name)
        finally:
            for module_name in [n for n in sys.modules if n == name or n.startswith(name + ".")]:
                del sys.modules[module_name]


@contextlib.contextmanager
def load_generated(source: str) -> Iterator[types.ModuleType]:
    """Import one generated module's ``source`` on its own; yields the module."""
    with load_output(Output("subclass", (GeneratedFile("generated.py", source),), {})) as package:
        yield package.module("generated")


def build_root(namespace: Any, class_name: str, root: nn.Module, trace: Trace | None) -> nn.Module:
    """Build ``class_name`` from the generated module like ``root`` was built (its recorded call or config)."""
    cls = getattr(namespace, class_name)
    call = trace.call_of(root) if trace is not None else None
    if call is not None:
        return cls(*call.args, **call.kwargs)
    config = getattr(root, "config", None)
    if config is None:
        raise VerificationError(
            f"Cannot build {class_name}: the traced {type(root).__qualname__} has no recorded constructor call "
            "and no config. Fix: build the model inside the traced script."
        )
    return cls(config)


def compare_trees(
    built: nn.Module, traced: nn.Module, *, original_of: dict[str, type], script_module_name: str
) -> list[str]:
    """The differences between two module trees, first differing paths first (empty when equal)."""
    differences: list[str] = []
    built_modules = dict(built.named_modules(remove_duplicate=False))
    traced_modules = dict(traced.named_modules(remove_duplicate=False))
    for path in traced_modules.keys() - built_modules.keys():
        differences.append(
            f"{path or '<root>'}: missing from the generated model ({_name(traced_modules[path])})"
        )
    for path in built_modules.keys() - traced_modules.keys():
        differences.append(f"{path or '<root>'}: not in the traced model ({_name(built_modules[path])})")
    for path in traced_modules.keys() & built_modules.keys():
        got, expected = type(built_modules[path]), type(traced_modules[path])
        if not _same_class(got, expected, original_of, script_module_name):
            differences.append(
                f"{path or '<root>'}: generated {got.__qualname__}, traced {expected.__qualname__}"
            )
    for kind, built_tensors, traced_tensors in (
        (
            "parameter",
            built.named_parameters(remove_duplicate=False),
            traced.named_parameters(remove_duplicate=False),
        ),
        ("buffer", built.named_buffers(remove_duplicate=False), traced.named_buffers(remove_duplicate=False)),
    ):
        got_tensors, expected_tensors = dict(built_tensors), dict(traced_tensors)
        for name in expected_tensors.keys() - got_tensors.keys():
            differences.append(f"{name}: {kind} missing from the generated model")
        for name in got_tensors.keys() - expected_tensors.keys():
            differences.append(f"{name}: {kind} not in the traced model")
        for name in expected_tensors.keys() & got_tensors.keys():
            got, expected = got_tensors[name], expected_tensors[name]
            if got.shape != expected.shape:
                differences.append(f"{name}: {kind} shape {tuple(got.shape)}, traced {tuple(expected.shape)}")
            elif got.dtype.is_floating_point != expected.dtype.is_floating_point:
                differences.append(f"{name}: {kind} dtype {got.dtype}, traced {expected.dtype}")
    differences.extend(_untied(built, traced))
    return sorted(differences)


def _untied(built: nn.Module, traced: nn.Module) -> list[str]:
    """Parameters that are one tensor in the traced model but separate tensors in the generated one."""
    built_parameters = dict(built.named_parameters(remove_duplicate=False))
    groups: dict[int, list[str]] = {}
    for name, parameter in traced.named_parameters(remove_duplicate=False):
        groups.setdefault(id(parameter), []).append(name)
    differences = []
    for names in groups.values():
        present = [name for name in names if name in built_parameters]
        if len({id(built_parameters[name]) for name in present}) > 1:
            differences.append(
                f"{present[0]}: shared with {', '.join(present[1:])} in the traced model, not in the generated one"
            )
    return differences


def require_same_tree(
    built: nn.Module,
    traced: nn.Module,
    failure: str,
    *,
    original_of: dict[str, type],
    script_module_name: str,
) -> None:
    """Raise :class:`VerificationError` starting with ``failure`` and listing the first differing paths."""
    differences = compare_trees(built, traced, original_of=original_of, script_module_name=script_module_name)
    if differences:
        shown = "\n  ".join(differences[:10])
        more = f"\n  ... and {len(differences) - 10} more" if len(differences) > 10 else ""
        raise VerificationError(f"{failure}:\n  {shown}{more}")


def verify(output: Output, trace: Trace | None, roots: dict[str, nn.Module]) -> None:
    """Import ``output`` as a package and check that each root class rebuilds its traced root (on ``meta``).

    Raises:
        VerificationError: the module trees differ (the first differing paths are listed) or the generated
            code fails to import or build.
    """
    script_module_name = trace.script_module_name if trace is not None else "__main__"
    try:
        with load_output(output) as package:
            original_of = _original_classes(output, package)
            for root_name, (stem, class_name) in output.roots.items():
                with torch.device("meta"):
                    built = build_root(package.module(stem), class_name, roots[root_name], trace)
                shown = class_name if output.mode == "subclass" else f"{stem}.{class_name}"
                require_same_tree(
                    built, roots[root_name], f"{shown} does not rebuild the traced model {root_name!r}",
                    original_of=original_of, script_module_name=script_module_name,
                )  # fmt: skip
    except VerificationError:
        raise
    except Exception as error:
        raise VerificationError(
            f"The generated code fails to build: {type(error).__name__}: {error}"
        ) from error


def _original_classes(output: Output, package: LoadedOutput) -> dict[str, type]:
    """Class name in the output -> the class it declares: the generated classes, and in a vendored file every
    class of the same name as a class of its original module (a copy, renamed or not)."""
    found: dict[str, type] = {}
    for file in output.files:
        if file.original_label is None:
            continue
        module = package.module(file.module)
        original_module = importlib.import_module(file.original_label.removesuffix(".py").replace("/", "."))
        for name, value in vars(module).items():
            if inspect.isclass(value) and value.__module__ == module.__name__:
                original = getattr(original_module, name, None)
                if inspect.isclass(original):
                    found[name] = original
    for name, (original, _) in output.classes.items():
        found[name] = original
    return found


def _name(module: nn.Module) -> str:
    return type(module).__qualname__


def _same_class(got: type, expected: type, original_of: dict[str, type], script_module_name: str) -> bool:
    """Whether ``got`` (built by the generated module) is a faithful declaration of ``expected`` (traced).

    An imported class must be the very same class; a generated class must subclass exactly the traced class;
    a class copied from the script is a new class object, so it must have the same qualified name, equal
    bases and the same code (see :func:`_same_script_class`). A parametrized module (weight norm) gets a
    fresh ``Parametrized<Name>`` class per instance: those compare by the class they parametrize.
    """
    if got is expected:
        return True
    if original_of.get(got.__qualname__) is expected:
        return True
    if _is_parametrized_class(got) and _is_parametrized_class(expected):
        return _same_class(got.__bases__[0], expected.__bases__[0], original_of, script_module_name)
    if expected.__module__ == script_module_name and got.__qualname__ == expected.__qualname__:
        return _same_script_class(got, expected, original_of, script_module_name)
    return False


def _is_parametrized_class(cls: type) -> bool:
    # torch.nn.utils.parametrize builds `Parametrized<Name>(<Name>)` for each parametrized instance.
    return len(cls.__bases__) == 1 and cls.__name__ == f"Parametrized{cls.__bases__[0].__name__}"


def _same_script_class(
    got: type, expected: type, original_of: dict[str, type], script_module_name: str
) -> bool:
    """A copy of a script class: same bases and, for each function of the class, the same code."""
    if len(got.__bases__) != len(expected.__bases__):
        return False
    if not all(
        _same_class(a, b, original_of, script_module_name)
        for a, b in zip(got.__bases__, expected.__bases__, strict=True)
    ):
        return False
    got_functions = {k: v for k, v in vars(got).items() if inspect.isfunction(v)}
    expected_functions = {k: v for k, v in vars(expected).items() if inspect.isfunction(v)}
    if got_functions.keys() != expected_functions.keys():
        return False
    return all(_same_function(got_functions[k], expected_functions[k]) for k in got_functions)


def _same_function(got: types.FunctionType, expected: types.FunctionType) -> bool:
    """Same source (as syntax trees, so indentation and position do not matter), else the same code.

    Bytecode alone is not compared: the compiler emits different instructions for one source depending on
    how a global was bound (an ``import`` or a star import).
    """
    trees = [_syntax_tree(function) for function in (got, expected)]
    if None not in trees:
        return trees[0] == trees[1]
    return _code_fingerprint(got.__code__) == _code_fingerprint(expected.__code__)


def _syntax_tree(function: types.FunctionType) -> str | None:
    try:
        source = textwrap.dedent(inspect.getsource(function))
        return ast.dump(ast.parse(source))
    except (OSError, TypeError, SyntaxError):
        return None


def _code_fingerprint(code: types.CodeType) -> tuple:
    """What a function's code does, without where it was written (file name and line numbers differ)."""
    constants = tuple(
        _code_fingerprint(c) if isinstance(c, types.CodeType) else (type(c).__name__, repr(c))
        for c in code.co_consts
    )
    return (code.co_names, code.co_varnames, constants)
