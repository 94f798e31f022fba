"""Hooks the script removed through their handles, which the generated class registers again: a refusal.

A library call made again by the generated class (optimum-quanto's ``quantize``) registers hooks; the script may
remove some of them later through the handle that registration returned (``Calibration`` removes the output hooks
of the modules whose outputs no quantized module reads, during a forward pass). No call made while building the
model removes a hook by its handle, so verification finds those hooks in the generated model only. When that is
all it finds, and each module's own constructor call, made again, registers the missing hooks (so the script
removed them), the command line refuses, naming the modules and the hooks, rather than reporting a failed check.
"""

from __future__ import annotations

import functools
import operator

from torch import nn

from archit_codemod.declaration.checking.compare import HOOK_DICTS
from archit_codemod.declaration.checking.completeness import RebuildError, rebuild_original
from archit_codemod.declaration.checking.state import qualified_name
from archit_codemod.declaration.errors import DeclarationError, VerificationError
from archit_codemod.declaration.records import Trace

__all__ = ["removed_hooks_refusal"]

_FORWARD_HOOK_KINDS = ("forward hook", "forward pre-hook")
"""The kinds considered: a library removes forward hooks through their handles while the model runs (calibration)."""


def removed_hooks_refusal(
    failure: VerificationError, trace: Trace, root: nn.Module
) -> DeclarationError | None:
    """The refusal when every difference ``failure`` found is a hook of the generated model that the traced
    ``root`` no longer has, though its module's own constructor call, made again, registers it; ``None``
    otherwise (the verification failure stands)."""
    found = failure.differences
    if not found or any(d.kind != "hook" or d.expected or d.name not in _FORWARD_HOOK_KINDS for d in found):
        return None
    if not all(_registered_when_built(root.get_submodule(d.path), d.name, d.got, trace) for d in found):
        return None
    shown_root = failure.root_name or "model"
    paths = sorted({f"{shown_root}.{d.path}" if d.path else shown_root for d in found})
    hooks = sorted({f"{d.name} {', '.join(d.got)}" for d in found})
    shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
    return DeclarationError(
        f"Cannot declare {shown}: the script removed hooks from these modules ({'; '.join(hooks)}) that their "
        "constructors register, and a hook removed through its handle (handle.remove(), as optimum-quanto's "
        "Calibration does for outputs no quantized module reads) is no call a class can make again. Fix: build "
        "the model with the generated class, then run the code that removed the hooks (the calibration) on it, in "
        "your own code; or keep the hooks."
    )


def _registered_when_built(module: nn.Module, kind: str, listed: tuple[str, ...], trace: Trace) -> bool:
    """Whether ``module``'s recorded constructor call, made again on ``meta``, registers the hooks ``listed``."""
    try:
        rebuilt, _ = rebuild_original(module, trace)
    except RebuildError:
        return False
    in_script = functools.partial(operator.eq, trace.script_module_name)  # named as verification names them
    registered = {qualified_name(hook, in_script) for hook in getattr(rebuilt, HOOK_DICTS[kind]).values()}
    return all(name in registered for name in listed)
