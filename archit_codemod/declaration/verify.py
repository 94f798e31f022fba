"""Check that generated classes rebuild the traced model: same module tree, same parameters and buffers.

The generated source is imported on its own, in a fresh module that is registered in ``sys.modules``
only while it is imported (dataclasses need that) and removed afterwards. Each root's generated class is
built on the ``meta`` device, so no weights are allocated whatever the model's size.
"""

from __future__ import annotations

import contextlib
import itertools
import linecache
import sys
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
    return sorted(differences)


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
                differences = compare_trees(
                    built, roots[root_name], original_of=original_of, script_module_name=script_module_name
                )
                if differences:
                    shown = "\n  ".join(differences[:10])
                    more = f"\n  ... and {len(differences) - 10} more" if len(differences) > 10 else ""
                    raise VerificationError(
                        f"{class_name} does not rebuild the traced model {root_name!r}:\n  {shown}{more}"
                    )
    except VerificationError:
        raise
    except Exception as error:
        raise VerificationError(
            f"The generated code fails to build: {type(error).__name__}: {error}"
        ) from error


def _name(module: nn.Module) -> str:
    return type(module).__qualname__


def _same_class(got: type, expected: type, original_of: dict[str, type], script_module_name: str) -> bool:
    if got is expected:
        return True
    if original_of.get(got.__qualname__) is expected:
        return True
    # A class copied from the script is a new class object with the same name.
    return expected.__module__ == script_module_name and got.__qualname__ == expected.__qualname__
