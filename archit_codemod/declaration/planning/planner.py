"""Planning: from what the tracer recorded to a :class:`~archit_codemod.declaration.planning.plan.Plan`.

Walking each root bottom-up (:mod:`.walk`), every module that changed, or holds a module whose class got a generated
version, is planned (:mod:`.module_class`), then named and merged with an equal plan (:mod:`.naming`). A parent's
plan names its children's classes by their final names, so planning ends with everything decided and nothing
assembled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from archit_codemod.declaration.checking.compare import main_dtype
from archit_codemod.declaration.errors import DeclarationError, NothingModifiedError
from archit_codemod.declaration.planning.context import AfterInitOfRoot, Planning
from archit_codemod.declaration.planning.handed_down import HandedDown, refuse_unbuilt
from archit_codemod.declaration.planning.library_calls import (
    modules_in,
    replayed_calls,
    replayed_function,
    without_replayed,
)
from archit_codemod.declaration.planning.module_class import plan_class
from archit_codemod.declaration.planning.naming import ClassNamer
from archit_codemod.declaration.planning.plan import Plan
from archit_codemod.declaration.planning.post_init import (
    Deferred,
    replacements_post_init_changes,
    without_deferred,
)
from archit_codemod.declaration.planning.transformers_policy import (
    calls_sharing_modules,
    refuse_shared_modules,
)
from archit_codemod.declaration.planning.walk import Dirty, modules_to_plan
from archit_codemod.declaration.records import LibraryCall, SettingChange, Trace
from archit_codemod.declaration.rendering.names import NameTable
from archit_codemod.declaration.script import ScriptSource
from archit_codemod.declaration.stages import stage
from archit_codemod.declaration.tracing.changes import Changes, net_changes


def make_plan(
    trace: Trace,
    roots: dict[str, nn.Module],
    script: ScriptSource,
    *,
    suffix: str = "Modified",
    replayed: Sequence[LibraryCall] = (),
    settings: Mapping[str, Sequence[SettingChange]] | None = None,
    not_replayed: frozenset[Callable[..., Any]] = frozenset(),
    probe_post_init: bool = True,
) -> Plan:
    """The classes that declare what ``trace`` recorded for ``roots``.

    ``replayed`` are the library calls the completeness check found behind tensors and hooks: they are made again,
    with those that changed the model with modules they built themselves. ``settings`` (root name -> plain
    settings the script changed on modules of that root) are set again at the end of the root's ``__init__``.
    ``probe_post_init`` asks which replacements ``post_init`` would change (:mod:`.post_init`); without it, every
    replacement is made where the original ``__init__`` built what it replaces, and no tie ``post_init`` would add
    is refused: for a caller that verifies the output and plans again with the probe when verification fails.

    Raises:
        DeclarationError: a modification cannot be declared faithfully; the message names the module path, the
            class and the argument.
        NothingModifiedError: nothing changed under any of ``roots``.
    """
    if not suffix.isidentifier():
        raise DeclarationError(f"The suffix {suffix!r} is not a valid part of a Python class name.")
    when = _when_made(trace, roots, replayed, not_replayed, probe_post_init)
    names = NameTable(script)
    settings = {
        name: list(changed) for name, changed in (settings or {}).items() if changed and name in roots
    }
    after_init = {
        roots[name]: AfterInitOfRoot(
            replays=tuple(when.replays.get(name, ())),
            deferred=tuple(when.deferred.get(name, ())),
            settings=tuple(settings.get(name, ())),
        )
        for name in roots
        if name in when.replays or name in when.deferred or name in settings
    }
    planning = Planning(
        trace,
        script,
        changes=when.in_init,
        tie_changes=when.followed_by_ties,
        dirty=Dirty(when.in_init, finished=frozenset(after_init)),
        names=names,
        namer=ClassNamer(names, suffix),
        after_init=after_init,
        model_dtypes=_model_dtypes(roots),
    )
    warnings: list[str] = []
    for root in roots.values():
        if planning.dirty(root):
            warnings += refuse_shared_modules(root, when.declared)
    # Children built by one module's __init__ and handed to another's constructor: their builder (an ancestor,
    # planned later) builds their generated class.
    handed_down: dict[nn.Module, list[HandedDown]] = {}
    for module, instance in modules_to_plan(roots, planning.dirty):
        if not planning.namer.add_instance(module, instance):
            with stage("planning", path=str(instance)):
                planned = plan_class(planning, module, instance, tuple(handed_down.pop(module, ())))
            for handed in planned.handed_down:
                handed_down.setdefault(handed.builder, []).append(handed)
            warnings += planned.warnings
            # A module whose changed children were all built by its builder (handed down) keeps its class.
            if planned.plan.edits or planned.plan.members:
                planning.namer.add(module, planned.plan)
    refuse_unbuilt(planning, handed_down, roots)
    root_plans = {}
    for root_name, root in roots.items():
        plan = planning.namer.plan_of(root)
        if plan is not None:
            root_plans[root_name] = plan
    if not root_plans:
        raise NothingModifiedError(
            f"No submodule of {', '.join(roots) or 'the given models'} was modified after its construction."
        )
    return Plan(
        classes=tuple(planning.namer.classes),
        roots=root_plans,
        names=names,
        script=script,
        suffix=suffix,
        kept_originals=_kept_originals(roots, planning.namer),
        warnings=tuple(dict.fromkeys(warnings)),
    )


@dataclass(frozen=True)
class _WhenMade:
    """The recorded changes, sorted by when the generated classes make them."""

    in_init: Changes
    """Made by the ``__init__`` of the generated classes."""
    replays: dict[str, list[LibraryCall]]
    """Root name -> the library calls its generated class makes again after ``__init__``."""
    deferred: dict[str, Deferred]
    """Root name -> the replacements its generated class makes after ``post_init``, which would change them."""
    declared: Changes
    """Every change but the replayed calls' (whichever stage makes it)."""
    followed_by_ties: Changes
    """The changes that what the generated classes say about ties follows."""


def _when_made(
    trace: Trace,
    roots: dict[str, nn.Module],
    replayed: Sequence[LibraryCall],
    not_replayed: frozenset[Callable[..., Any]],
    probe_post_init: bool,
) -> _WhenMade:
    # Only the changes of the models to declare: a call that changed another model (quantized, then discarded) is
    # not theirs to make again.
    inside = {module for root in roots.values() for module in root.modules()}
    changes = {owner: owner_changes for owner, owner_changes in net_changes(trace).items() if owner in inside}
    sharing = [call for root in roots.values() for call in calls_sharing_modules(root, changes)]
    replayed = [
        call
        for call in dict.fromkeys([*replayed_calls(trace, changes), *replayed, *sharing])
        if replayed_function(call) not in not_replayed
    ]
    # The ties follow every replacement, also those a call that shares a module makes again after __init__ (the
    # ties name the modules it replaced).
    followed_by_ties = without_replayed(changes, [call for call in replayed if call not in sharing])
    declared = without_replayed(changes, replayed)
    deferred = {
        name: found
        for name, root in roots.items()
        if probe_post_init and (found := replacements_post_init_changes(root, declared))
    }
    in_init = without_deferred(declared, [entry for found in deferred.values() for entry in found])
    return _WhenMade(
        in_init, _replays_by_root(roots, replayed, changes), deferred, declared, followed_by_ties
    )


def _model_dtypes(roots: dict[str, nn.Module]) -> dict[nn.Module, torch.dtype]:
    """Module -> the main dtype of its root model, for every module of a root that has one."""
    return {
        module: dtype
        for root in roots.values()
        if (dtype := main_dtype(root)) is not None
        for module in root.modules()
    }


def _replays_by_root(
    roots: dict[str, nn.Module], replayed: list[LibraryCall], changes: Changes
) -> dict[str, list[LibraryCall]]:
    """The replayed calls of each root: those made on a module of it (as receiver or argument).

    Raises:
        DeclarationError: a call reached no root, or two roots.
    """
    contents = {name: set(root.modules()) for name, root in roots.items()}
    found: dict[str, list[LibraryCall]] = {}
    for call in replayed:
        modules = list(modules_in([call.receiver, *call.arguments.values()]))
        reached = [name for name, inside in contents.items() if any(module in inside for module in modules)]
        if len(reached) != 1:
            made_on = "several models: " + ", ".join(reached) if reached else _holder(call, roots)
            choose = ", or choose one model with --model" if reached else ""
            raise DeclarationError(
                f"The call of {call.name} at {call.filename}:{call.lineno} changed "
                f"{_changed_paths(call, roots, changes)}, but it was made on {made_on}, so no one generated class "
                "can make it again. Fix: make the change with a call on the model to declare or on one of its "
                f"modules (a function that changes the model in place){choose}."
            )
        found.setdefault(reached[0], []).append(call)
    return found


def _holder(call: LibraryCall, roots: dict[str, nn.Module]) -> str:
    """What a call that reached no root was made on: ``a PeftModel that holds the model 'model' (as
    base_model.model)``, or ``no model``."""
    if isinstance(call.receiver, nn.Module):
        paths = {module: path for path, module in call.receiver.named_modules()}
        for name, root in roots.items():
            if root in paths:
                return (
                    f"a {type(call.receiver).__qualname__} that holds the model {name!r} (as {paths[root]}), "
                    "not on the model"
                )
    return "no model"


def _changed_paths(call: LibraryCall, roots: dict[str, nn.Module], changes: Changes) -> str:
    """The module paths ``call`` changed: ``encoder.layers.0.self_attn.q_proj, ...``."""
    owner_paths = {module: path for root in roots.values() for path, module in root.named_modules()}
    paths = [
        f"{owner_paths[owner]}.{change.name}".lstrip(".")
        for owner, owner_changes in changes.items()
        if owner in owner_paths
        for change in owner_changes.values()
        if change.first.call is call
    ]
    if not paths:
        return "the model"
    return ", ".join(sorted(paths)[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def _kept_originals(roots: dict[str, nn.Module], namer: ClassNamer) -> dict[type, int]:
    generated = {plan.original for plan in namer.classes}
    kept = dict.fromkeys(generated, 0)
    seen: set[nn.Module] = set()
    for root in roots.values():
        for module in root.modules():
            if module in seen or type(module) not in generated:
                continue
            seen.add(module)
            if namer.plan_of(module) is None:
                kept[type(module)] += 1
    return kept
