"""Check that generated classes rebuild the traced model: same module tree, same parameters and buffers.

The generated source is imported on its own, in a fresh module that is registered in ``sys.modules``
only while it is imported (dataclasses need that) and removed afterwards. Each root's generated class is
built on the ``meta`` device, so no weights are allocated whatever the model's size.

Classes are compared faithfully, not by name: an imported class must be the traced class itself, a
generated class must subclass it, a class copied from the script must have the same bases and the same
code, and a parametrized module (weight norm) compares by the class it parametrizes. Beyond the tree, what
:mod:`archit_codemod.declaration.compare` records must match: dtypes, hooks, parametrizations, plain settings,
and which tensors are one (tied or shared) in either model. Where cheap, the generated root is also built on
the CPU, loaded with the traced weights and run (:mod:`archit_codemod.declaration.functional`).
"""

from __future__ import annotations

import ast
import contextlib
import functools
import inspect
import itertools
import linecache
import sys
import textwrap
import types
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

from archit_codemod.declaration.compare import Difference, differences, is_parametrized_class, snapshot
from archit_codemod.declaration.errors import VerificationError
from archit_codemod.declaration.functional import build_on_cpu, check_outputs, short_error, skip_reason
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
    """The differences between the generated and the traced model, sorted (empty when they are the same).

    Everything :mod:`archit_codemod.declaration.compare` records is compared: module tree and classes,
    parameter and buffer names, shapes and dtypes, hooks, parametrizations, plain settings, and which tensors
    are one (ties, both ways).
    """

    found = _differences(built, traced, original_of, script_module_name)
    return sorted(difference.describe(expected_as="traced", got_as="generated") for difference in found)


def _differences(
    built: nn.Module, traced: nn.Module, original_of: dict[str, type], script_module_name: str
) -> list[Difference]:
    def same(expected: type, got: type) -> bool:
        return _same_class(got, expected, original_of, script_module_name)

    return differences(snapshot(traced), snapshot(built), same_class=same)


def require_same_tree(
    built: nn.Module,
    traced: nn.Module,
    failure: str,
    *,
    original_of: dict[str, type],
    script_module_name: str,
) -> None:
    """Raise :class:`VerificationError` starting with ``failure`` and listing the first differing paths."""
    found = _differences(built, traced, original_of, script_module_name)
    if found:
        lines = sorted(difference.describe(expected_as="traced", got_as="generated") for difference in found)
        shown = "\n  ".join(lines[:10])
        more = f"\n  ... and {len(lines) - 10} more" if len(lines) > 10 else ""
        fix = _TIES_FIX if any(difference.kind == "sharing" for difference in found) else ""
        raise VerificationError(f"{failure}:\n  {shown}{more}{fix}")


_TIES_FIX = (
    "\nFix: the generated classes tie weights as the model's classes do, from the config. Make the traced model "
    "agree: set model.config.tie_word_embeddings = False in the script when a replaced output layer keeps "
    "weights of its own, or call model.tie_weights() after the replacement to share them."
)


def verify_root(
    build: Callable[[], nn.Module],
    traced: nn.Module,
    failure: str,
    *,
    original_of: dict[str, type],
    script_module_name: str,
    arguments: tuple[Any, ...] = (),
) -> None:
    """Check that ``build()`` (the generated root class, called as the traced root was built) rebuilds ``traced``.

    Built on ``meta``, the module trees must compare equal (:func:`compare_trees`); then, where
    :func:`~archit_codemod.declaration.functional.skip_reason` allows (``arguments`` are the root's constructor
    arguments), the functional check of :mod:`archit_codemod.declaration.functional` runs, on a CPU build
    that also stands in for the meta one when a module cannot be built on meta.

    Raises:
        VerificationError: starting with ``failure``: the build fails, or the first differences.
    """
    cpu_allowed = skip_reason(traced, arguments) is None
    try:
        with torch.device("meta"):
            built = build()
    except VerificationError:
        raise
    except Exception as error:
        # Some modules cannot be built on meta (torch's quantized ones): a small model is built on the CPU.
        if not cpu_allowed:
            raise VerificationError(
                f"{failure}: the generated code fails to build on meta: {short_error(error)}"
            ) from error
        built = None
    same_tree = functools.partial(
        require_same_tree, traced=traced, failure=failure, original_of=original_of,
        script_module_name=script_module_name,
    )  # fmt: skip
    if built is not None:
        same_tree(built)
    if cpu_allowed:
        on_cpu = build_on_cpu(build, failure)
        if built is None:
            same_tree(on_cpu)
        check_outputs(on_cpu, traced, failure)


def constructor_arguments(root: nn.Module, trace: Trace | None) -> tuple[Any, ...]:
    """The arguments of ``root``'s recorded constructor call (empty without one)."""
    call = trace.call_of(root) if trace is not None else None
    return (*call.args, *call.kwargs.values()) if call is not None else ()


def verify_source(
    source: str,
    root_classes: dict[str, str],
    roots: dict[str, nn.Module],
    trace: Trace | None,
    original_of: dict[str, type],
) -> None:
    """Raise :class:`VerificationError` unless each generated root class rebuilds its traced root."""
    script_module_name = trace.script_module_name if trace is not None else "__main__"
    with contextlib.ExitStack() as stack:
        try:
            namespace = stack.enter_context(load_generated(source))
        except Exception as error:
            raise VerificationError(
                f"The generated code fails to import: {type(error).__name__}: {error}"
            ) from error
        for root_name, class_name in root_classes.items():
            root = roots[root_name]
            verify_root(
                functools.partial(build_root, namespace, class_name, root, trace),
                root,
                f"{class_name} does not rebuild the traced model {root_name!r}",
                original_of=original_of,
                script_module_name=script_module_name,
                arguments=constructor_arguments(root, trace),
            )


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
    if is_parametrized_class(got) and is_parametrized_class(expected):
        return _same_class(got.__bases__[0], expected.__bases__[0], original_of, script_module_name)
    if expected.__module__ == script_module_name and got.__qualname__ == expected.__qualname__:
        return _same_script_class(got, expected, original_of, script_module_name)
    return False


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
