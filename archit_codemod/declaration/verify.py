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
import inspect
import itertools
import linecache
import sys
import textwrap
import types
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from archit_codemod.declaration.errors import VerificationError
from archit_codemod.declaration.records import Trace

_counter = itertools.count()


@contextlib.contextmanager
def load_generated(source: str) -> Iterator[types.ModuleType]:
    """Execute ``source`` as a fresh module; yields it. ``sys.modules`` is left as it was."""
    name = f"archit_codemod_generated_{next(_counter)}"
    filename = f"<{name}>"
    module = types.ModuleType(name)
    module.__file__ = filename
    # Tracebacks and inspect.getsource show the generated lines.
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    sys.modules[name] = module
    try:
        exec(compile(source, filename, "exec"), module.__dict__)
        yield module
    finally:
        sys.modules.pop(name, None)


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


def verify_source(
    source: str,
    root_classes: dict[str, str],
    roots: dict[str, nn.Module],
    trace: Trace | None,
    original_of: dict[str, type],
) -> None:
    """Raise :class:`VerificationError` unless each generated root class rebuilds its traced root."""
    script_module_name = trace.script_module_name if trace is not None else "__main__"
    try:
        with load_generated(source) as namespace:
            for root_name, class_name in root_classes.items():
                with torch.device("meta"):
                    built = build_root(namespace, class_name, roots[root_name], trace)
                require_same_tree(
                    built, roots[root_name], f"{class_name} does not rebuild the traced model {root_name!r}",
                    original_of=original_of, script_module_name=script_module_name,
                )  # fmt: skip
    except VerificationError:
        raise
    except Exception as error:
        raise VerificationError(
            f"The generated code fails to build: {type(error).__name__}: {error}"
        ) from error


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
