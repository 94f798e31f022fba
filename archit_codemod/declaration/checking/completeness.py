"""The completeness check: whatever differs between a traced model and its original class is declared or refused.

The tracer sees assignments of submodules. Libraries also change models in ways it cannot see: torch's
``quantize_dynamic`` writes ``module._modules[name]`` directly, ``torch.nn.utils.prune`` adds tensors and a
hook, ``module.__class__ = X`` swaps a class. So before planning, each root is compared
(:mod:`archit_codemod.declaration.checking.compare`) with its original class rebuilt on ``meta`` (from the root's
recorded constructor call, else ``cls(config)``), and each difference the trace does not explain is:

- a child module that is missing, new, ``None`` or of another class: added to the modifications as an
  inferred change when the module now there was built by a recorded constructor call of its own class (the
  planner declares it from that call); refused otherwise (a ``__class__`` swap, a module built before
  tracing);
- anything else (hooks, parametrizations, pruning, settings, ties, tensors of an unchanged module): refused,
  with the module path, what differs, and what to do.

A recorded change whose result the original class rebuilds exactly (``resize_token_embeddings`` updated
``config.vocab_size``) is dropped, with the other changes of the same owner when they all are: there is
nothing to declare for them. That is only concluded when the root
was rebuilt from its own arguments alone; when those include modules (``nn.Sequential(a, b)``, a wrapper),
the rebuild runs the constructors again on rebuilt arguments and proves nothing about the recorded changes,
so they are all kept.
"""

from __future__ import annotations

import contextlib
import dataclasses
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from archit_codemod.declaration.checking.compare import (
    ABSENT,
    Difference,
    ModelSnapshot,
    differences,
    is_parametrized_class,
    own_snapshot,
    path_and_ancestors,
    snapshot,
)
from archit_codemod.declaration.checking.functional import MAX_PARAMETERS, quiet, short_error
from archit_codemod.declaration.checking.loaded import (
    changed_after_quantized_load,
    loaded_as_declared,
    reloaded_reference,
)
from archit_codemod.declaration.errors import DeclarationError, NothingModifiedError
from archit_codemod.declaration.planning.library_calls import is_replayable, replayed_function
from archit_codemod.declaration.records import (
    ConstructorCall,
    LibraryCall,
    Modification,
    SettingChange,
    Trace,
)
from archit_codemod.declaration.rendering.rebuild import read_back
from archit_codemod.declaration.tracing.changes import net_changes
from archit_codemod.declaration.tracing.roots import find_roots, paths_index
from archit_codemod.declaration.tracing.tracer import trace as tracing_session

__all__ = [
    "RebuildError",
    "Checked",
    "check_completeness",
    "literal_setting",
    "rebuild_original",
    "roots_to_declare",
]


class RebuildError(Exception):
    """The original class of a model cannot be rebuilt on ``meta``; the message says why."""


@dataclass
class Checked:
    """What the completeness check leaves to the planner."""

    trace: Trace
    """The trace with inferred changes added and changes the original class rebuilds dropped."""
    roots: dict[str, nn.Module]
    """The roots that still have something to declare."""
    warnings: list[str] = field(default_factory=list)
    replayed: list[LibraryCall] = field(default_factory=list)
    """Library calls whose tensors and hooks explain differences: the generated class makes them again."""
    settings: dict[str, list[SettingChange]] = field(default_factory=dict)
    """Root name -> the plain settings the script changed on its modules: the generated class sets them again."""


@dataclass
class _RootCheck:
    """One root compared with its original class."""

    name: str
    root: nn.Module
    reference: nn.Module
    expected: ModelSnapshot
    got: ModelSnapshot
    found: list[Difference]
    changed: dict[str, tuple[nn.Module, str]]
    """Path of each recorded change under the root -> ``(owner, child name)``."""
    calls: dict[str, list[LibraryCall]] = field(default_factory=dict)
    """Path of each module a replayable library call changed -> those calls."""
    replayed: list[LibraryCall] = field(default_factory=list)
    """The calls that explain a difference."""
    settings: list[SettingChange] = field(default_factory=list)
    """The changed plain settings, to set again."""
    read_back: dict[str, ConstructorCall] = field(default_factory=dict)
    """Path of each module changed in place -> the call its class builds it with now, read from its attributes."""
    unsaved_values_differ: set[str] = field(default_factory=set)
    """Changed paths whose new module holds buffers no checkpoint saves (rotary frequencies) with other values
    than the module it replaced: the class must compute them, and a rebuild on ``meta`` cannot show values."""


def rebuild_original(root: nn.Module, trace: Trace | None) -> tuple[nn.Module, bool]:
    """``root``'s original class built on ``meta`` as ``root`` was built; and whether arguments were modules.

    A model of at most :data:`~archit_codemod.declaration.checking.functional.MAX_PARAMETERS` parameters whose
    constructor cannot run on ``meta`` is built on the CPU.

    The recorded constructor call is repeated, every module among its arguments rebuilt the same way (so
    the rebuild never touches the traced model); without a recorded call, ``cls(config)``.

    Raises:
        RebuildError: no recorded call and no config, or the constructor raised.
    """
    memo: dict[int, nn.Module] = {}
    with quiet():
        return _rebuild_on_meta_or_cpu(root, trace, memo)


def _rebuild_on_meta_or_cpu(
    root: nn.Module, trace: Trace | None, memo: dict[int, nn.Module]
) -> tuple[nn.Module, bool]:
    try:
        with torch.device("meta"):
            rebuilt = _rebuild(root, trace, memo, top=True)
    except RebuildError as on_meta:
        # Some constructors cannot run on meta (pruning config.pruned_heads indexes by a mask): a small model
        # is rebuilt on the CPU instead.
        if on_meta.__cause__ is None or sum(p.numel() for p in root.parameters()) > MAX_PARAMETERS:
            raise
        memo.clear()
        with torch.device("cpu"):
            rebuilt = _rebuild(root, trace, memo, top=True)
    return rebuilt, len(memo) > 1


def _rebuild(
    module: nn.Module, trace: Trace | None, memo: dict[int, nn.Module], *, top: bool = False
) -> nn.Module:
    if id(module) in memo:
        return memo[id(module)]
    call = trace.call_of(module) if trace is not None else None
    if call is not None:
        cls, args, kwargs = call.cls, call.args, call.kwargs
        memo[id(module)] = module  # a module reachable from its own arguments must not recurse forever
        args = tuple(rebuilt_argument(value, trace, memo) for value in args)
        kwargs = {key: rebuilt_argument(value, trace, memo) for key, value in kwargs.items()}
    else:
        config = getattr(module, "config", None)
        if config is None:
            what = "it" if top else f"its argument {type(module).__qualname__}"
            raise RebuildError(f"{what} was built without a recorded constructor call and has no config")
        cls, args, kwargs = type(module), (config,), {}
    try:
        rebuilt = cls(*args, **kwargs)
    except Exception as error:
        raise RebuildError(f"{cls.__qualname__}(...) raised {short_error(error)}") from error
    memo[id(module)] = rebuilt
    return rebuilt


def _same_requires_grad(rebuilt: nn.Module, traced: nn.Module) -> None:
    flags = {name: parameter.requires_grad for name, parameter in traced.named_parameters()}
    for name, parameter in rebuilt.named_parameters():
        if name in flags and parameter.requires_grad != flags[name]:
            parameter.requires_grad_(flags[name])


def rebuilt_argument(value: Any, trace: Trace | None, memo: dict[int, nn.Module]) -> Any:
    if isinstance(value, nn.Module):
        rebuilt = _rebuild(value, trace, memo)
        # A constructor that receives a module may read its training state (opacus' GradSampleModule hooks only
        # parameters that require grad): the rebuilt argument has the state the traced one had when it was passed.
        _same_requires_grad(rebuilt, value)
        return rebuilt
    if type(value) in (list, tuple):
        return type(value)(rebuilt_argument(item, trace, memo) for item in value)
    if type(value) is dict:
        return {key: rebuilt_argument(item, trace, memo) for key, item in value.items()}
    return value


# -- which roots ------------------------------------------------------------------------------------------


def roots_to_declare(trace: Trace, model_name: str | None = None) -> dict[str, nn.Module]:
    """The roots to check and declare: :func:`~archit_codemod.declaration.tracing.roots.find_roots`'s, or, when the
    tracer recorded no change to a module still in a model, every model the script holds that differs from its
    original class.

    Every recorded change may be to modules that were replaced afterwards without an assignment the tracer sees
    (``torch.ao.quantization.convert`` writes ``module._modules[name]``, dropping the observers ``prepare``
    added), so that the models the script holds still differ from their classes.

    Raises:
        NothingModifiedError: nothing was modified, and no model the script holds differs from its class.
        DeclarationError: the tracer recorded nothing and a model the script holds cannot be rebuilt to compare.
    """
    if trace.modifications:
        with contextlib.suppress(NothingModifiedError):
            return find_roots(trace, model_name)
    candidates = _script_models(trace, model_name)
    unchecked: dict[str, str] = {}
    found = {}
    for name, model in candidates.items():
        try:
            reference, _ = rebuild_original(model, trace)
        except RebuildError as reason:
            unchecked[name] = str(reason)
            continue
        if differences(snapshot(reference), snapshot(model)):
            found[name] = model
    if found:
        return found
    if unchecked:
        shown = "; ".join(f"{name}: {reason}" for name, reason in unchecked.items())
        raise DeclarationError(
            "The tracer recorded no change to a module still in a model, and the codemod cannot compare "
            f"{', '.join(f'{name} (<root>, a {type(candidates[name]).__qualname__})' for name in unchecked)} with "
            "its original class to see whether the script changed it otherwise "
            f"({shown}). Fix: build the model with "
            "its constructor or from_pretrained in the script (not by copying or unpickling a model), or pass "
            "--model NAME to declare another model."
        )
    try:
        find_roots(trace, model_name)
    except NothingModifiedError as nothing:
        compared = ", ".join(f"{name} ({type(model).__qualname__})" for name, model in candidates.items())
        raise NothingModifiedError(
            f"{nothing} Each model the script holds was compared with its original class rebuilt from its "
            f"constructor call or config, and is what that class builds: {compared}."
            if candidates
            else str(nothing)
        ) from None
    raise AssertionError("find_roots found roots in a trace without modifications")


def _script_models(trace: Trace, model_name: str | None) -> dict[str, nn.Module]:
    """The script's module globals not contained in another (or the one named ``model_name``)."""
    globals_ = {name: value for name, value in trace.namespace.items() if isinstance(value, nn.Module)}
    if model_name is not None:
        return {model_name: globals_[model_name]} if model_name in globals_ else {}
    contents = {id(module): {id(m) for m in module.modules()} for module in globals_.values()}
    kept: dict[str, nn.Module] = {}
    for name, module in globals_.items():
        inside_another = any(
            other is not module and id(module) in contents[id(other)] for other in globals_.values()
        )
        if not inside_another and not any(module is other for other in kept.values()):
            kept[name] = module
    return kept


# -- the check --------------------------------------------------------------------------------------------


def check_completeness(
    trace: Trace, roots: dict[str, nn.Module], not_replayed: frozenset[Callable[..., Any]] = frozenset()
) -> Checked:
    """Compare each root with its original class; see the module docstring. The library calls that call one of
    ``not_replayed`` (verification found that making them again fails) explain no difference: what they changed is
    declared from the modules as they are.

    Raises:
        DeclarationError: a difference can be neither traced back to a recorded change nor declared; the
            message names the module path and what differs.
        NothingModifiedError: no root has anything left to declare.
    """
    changes = net_changes(trace)
    checked = Checked(trace, {})
    rebuilt_containers: dict[int, nn.Module] = {}
    inferred: list[Modification] = []
    read_back_calls: dict[nn.Module, ConstructorCall] = {}
    found_calls: dict[nn.Module, ConstructorCall] = {}
    found_copies: dict[nn.Module, nn.Module] = {}
    dropped: set[tuple[int, str]] = set()
    redundant: list[str] = []
    reloaded_roots: list[str] = []
    for name, root in roots.items():
        paths = paths_index(root)
        changed = {
            _join(owner_path, child): (change.owner, child)
            for owner_changes in changes.values()
            for child, change in owner_changes.items()
            for owner_path in paths.get(id(change.owner), ())
        }
        untraced = _untraced_modules(root, trace)
        try:
            # A model its from_pretrained changed (a quantizer) is compared with what that loads (checking/loaded.py).
            reloaded = reloaded_reference(root, trace)
            if reloaded is not None:
                reference, with_modules = reloaded, False
                reloaded_roots.append(name)
            elif untraced:
                # Modules no constructor call built (a clone unpickled from a model of the same class): they are
                # built as the original class builds them, so its rebuild is traced to know with what calls.
                with tracing_session() as rebuild_trace:
                    reference, with_modules = rebuild_original(root, trace)
                found_calls.update(rebuild_trace.calls)
                found_copies.update(_same_paths(root, reference, untraced))
            else:
                reference, with_modules = rebuild_original(root, trace)
        except RebuildError as reason:
            checked.warnings.append(
                f"{name}: the completeness check cannot rebuild {type(root).__qualname__} ({reason}); only "
                "verification compares the generated classes with the traced model."
            )
            checked.roots[name] = root
            continue
        rebuilt_containers.update(_rebuilt_containers(root, reference))
        expected, got = snapshot(reference), snapshot(root)
        check = _RootCheck(name, root, reference, expected, got, differences(expected, got), changed)
        check.unsaved_values_differ = {
            path
            for owner_changes in changes.values()
            for child, change in owner_changes.items()
            if _unsaved_buffers_differ(change.old, change.new)
            for owner_path in paths.get(id(change.owner), ())
            if (path := _join(owner_path, child)) in changed
        }
        check.calls = _effect_calls(root, trace, not_replayed)
        root_inferred = _unexplained(check, trace)
        check.replayed += [call for call in _calls_on_new_modules(check) if call not in check.replayed]
        checked.replayed += [call for call in check.replayed if call not in checked.replayed]
        if check.settings:
            checked.settings[name] = check.settings
        proven = _proven_redundant(check) if not with_modules else set()
        if proven:
            redundant.append(f"{name}: {', '.join(sorted(proven))}")
        inferred += root_inferred
        read_back_calls.update({root.get_submodule(path): call for path, call in check.read_back.items()})
        dropped |= {(id(changed[path][0]), changed[path][1]) for path in proven}
        if root_inferred or check.replayed or check.settings or len(proven) < len(changed):
            if reloaded is not None:
                raise DeclarationError(changed_after_quantized_load(name, sorted(set(changed) - proven)))
            checked.roots[name] = root
    if not checked.roots:
        if len(reloaded_roots) == len(roots):
            raise NothingModifiedError(loaded_as_declared(reloaded_roots, redundant))
        raise NothingModifiedError(_nothing_to_declare(roots, redundant))
    kept = [
        _as_rebuilt(m, rebuilt_containers)
        for m in trace.modifications
        if (id(m.owner), m.name) not in dropped
    ]
    calls, copies = trace.calls, trace.copies
    if read_back_calls or found_calls:
        # A module changed in place is built by the call its attributes give now, not by its recorded one.
        calls = weakref.WeakKeyDictionary(trace.calls)
        calls.update(found_calls)
        calls.update(read_back_calls)
    if found_copies:
        copies = weakref.WeakKeyDictionary(trace.copies)
        copies.update(found_copies)
    checked.trace = dataclasses.replace(trace, modifications=kept + inferred, calls=calls, copies=copies)
    return checked


def _untraced_modules(root: nn.Module, trace: Trace) -> list[tuple[str, nn.Module]]:
    """``(path, module)`` of each module under ``root`` that no recorded call built, and that copies none."""
    return [
        (path, module)
        for path, module in root.named_modules()
        if trace.call_of(module) is None and trace.copied_from(module) is None
    ]


def _same_paths(
    root: nn.Module, reference: nn.Module, untraced: list[tuple[str, nn.Module]]
) -> dict[nn.Module, nn.Module]:
    """Each untraced module of ``root`` -> the module of its class at the same path of the rebuilt ``reference``,
    when that module has the same tensors and settings of its own (a module put in place of the original one has
    not; a module whose children were replaced has)."""
    found = {}
    for path, module in untraced:
        try:
            rebuilt = reference.get_submodule(path)
        except AttributeError:
            continue
        if type(rebuilt) is type(module) and not differences(own_snapshot(rebuilt), own_snapshot(module)):
            found[module] = rebuilt
    return found


def _nothing_to_declare(roots: dict[str, nn.Module], redundant: list[str]) -> str:
    classes = ", ".join(sorted({type(root).__qualname__ for root in roots.values()}))
    if not redundant:
        return (
            f"the script modified no module: each of {', '.join(roots)} is what its original class ({classes}) "
            "builds. Change the model in the script (e.g. `model.encoder.layer[0] = MyLayer(config)`), then run "
            "archit_codemod on it again."
        )
    return (
        f"nothing to declare: the script changed {'; '.join(redundant)}, but the original class ({classes}), "
        "rebuilt from the model's config as it is at the end of the script, builds each of them exactly as they "
        "are. Fix: save the model with save_pretrained and load it with the original class's from_pretrained; no "
        "generated class is needed."
    )


def _proven_redundant(check: _RootCheck) -> set[str]:
    """Recorded change paths where the rebuilt original equals the traced model (nothing differs at or under).

    Only whole owners count: when some changes of an owner are redundant and others are not (an item moved
    within a ModuleList lands where an equal item was), the planner needs all of them to see what happened.
    """
    # Under a module of another class (or missing) nothing was compared: that proves nothing.
    unmatched = {d.path for d in check.found if d.kind in ("module", "class")}
    # A setting set again after __init__ is declared on its own: the change above it may still be redundant.
    set_again = {(setting.path, setting.name) for setting in check.settings}
    involved = {
        path
        for d in check.found
        if not (d.kind == "setting" and (d.path, d.name) in set_again)
        for name in d.names
        for path in path_and_ancestors(name)
    }
    equal = {
        path
        for path in check.changed
        if path not in involved
        and path not in check.unsaved_values_differ
        and not any(ancestor in unmatched for ancestor in path_and_ancestors(path))
    }
    by_owner: dict[int, list[str]] = {}
    for path, (owner, _) in check.changed.items():
        by_owner.setdefault(id(owner), []).append(path)
    return {path for paths in by_owner.values() if set(paths) <= equal for path in paths}


def _unsaved_buffers_differ(old: nn.Module | None, new: nn.Module | None) -> bool:
    """Whether ``new`` holds a buffer left out of the ``state_dict`` whose value ``old`` (the module it replaced,
    as the original class built it) does not hold at the same name."""
    if old is None or new is None:
        return False
    before = dict(_unsaved_buffers(old))
    for name, tensor in _unsaved_buffers(new):
        other = before.get(name)
        if other is tensor:
            continue  # the same buffer, kept (a layer stack truncated)
        if other is None or other.shape != tensor.shape or other.dtype != tensor.dtype:
            return True
        on_meta = (other.device.type == "meta", tensor.device.type == "meta")
        if on_meta == (True, True):
            continue  # a model built on meta holds no values to differ by
        if True in on_meta or not torch.equal(other, tensor):
            return True
    return False


def _unsaved_buffers(module: nn.Module) -> list[tuple[str, torch.Tensor]]:
    return [
        (_join(path, name), tensor)
        for path, submodule in module.named_modules()
        for name, tensor in submodule._buffers.items()
        if tensor is not None and name in submodule._non_persistent_buffers_set
    ]


def _involves(difference: Difference, path: str) -> bool:
    """Whether ``difference`` is at or under ``path`` (for ties: whether one of the tied tensors is)."""
    return any(_under(name, path) for name in difference.names)


def _involves_any(difference: Difference, paths: set[str]) -> bool:
    """Whether ``difference`` is at or under one of ``paths``."""
    return any(path in paths for name in difference.names for path in path_and_ancestors(name))


def _unexplained(check: _RootCheck, trace: Trace) -> list[Modification]:
    """Inferred modifications for the unexplained module-tree differences; raises for the rest.

    Module-tree differences go first: what lies under a module now inferred as changed (a tie of a quantized
    layer's weight) is explained by that change, as it is under a recorded one.
    """
    inferred: list[Modification] = []
    explained = set(check.changed)
    refused: list[tuple[Difference, str | None]] = []
    tree_first = sorted(check.found, key=lambda difference: difference.kind not in ("module", "class"))
    for difference in tree_first:
        if _involves_any(difference, explained) and not _kept_setting(check, difference, explained, trace):
            continue
        # A call that registered tensors or hooks there explains those, and the tensors its hooks compute (pruning
        # keeps the pruned weight as a plain attribute); other instance state it did not record setting (a
        # controller object beside a hook that reads it) is declared on its own.
        calls = [
            call
            for path, calls in check.calls.items()
            if not _set_by_the_script(difference) and _involves(difference, path)
            for call in calls
        ]
        if calls:
            check.replayed += [call for call in calls if call not in check.replayed]
            continue
        setting = _declarable_setting(check, difference)
        if setting is not None:
            check.settings.append(setting)
            continue
        advice = None
        if difference.kind in ("module", "class"):
            modification, advice = _infer(check, difference, trace)
            if modification is not None:
                inferred.append(modification)
                explained.add(difference.path)
                continue
        if difference.kind in ("parameter", "buffer") and difference.path:
            modification = _changed_in_place(check, difference.path)
            if modification is not None:
                inferred.append(modification)
                explained.add(difference.path)
                continue
        refused.append((difference, advice))
    if refused:
        refused.sort(key=lambda item: check.found.index(item[0]))  # in path order again
        raise DeclarationError(_refusal(check, refused))
    return inferred


def _set_by_the_script(difference: Difference) -> bool:
    """Whether ``difference`` is instance state other than a computed tensor: what a call that registers tensors or
    hooks does not set."""
    got = difference.got
    return difference.kind == "state" and not (isinstance(got, tuple) and got and got[0] == "tensor")


def _changed_in_place(check: _RootCheck, path: str) -> Modification | None:
    """A module whose tensors the script changed in place (a structured pruner shrinks a Linear's weight and rewrites
    ``in_features``), declared as replaced by the module its class builds from its attributes now; ``None`` when
    they do not say how to build it (:func:`~archit_codemod.declaration.rendering.rebuild.read_back`)."""
    if path not in check.expected.modules or path in check.read_back:
        return None
    module = check.root.get_submodule(path)
    arguments = read_back(module)
    if arguments is None:
        return None
    args, kwargs = arguments
    check.read_back[path] = ConstructorCall(type(module), args, kwargs, filename="<read back>", lineno=0)
    parent_path, _, child = path.rpartition(".")
    owner = check.root.get_submodule(parent_path)
    return _inferred("set", owner, child, check.reference.get_submodule(path), module)


def _kept_setting(check: _RootCheck, difference: Difference, explained: set[str], trace: Trace) -> bool:
    """Whether ``difference`` is a plain setting of a module the change under which it lies only moved.

    ``layers = layers[:n]`` with the config updated: a kept layer still holds the per-layer list it read from the
    config when the original class built it (Reformer's ``attn_layers``), while the class rebuilt from the
    updated config reads the shorter one. The new container does not build its items, so no constructor call
    of the change says that value: it is set again like any setting the script changed. A setting of a module
    that the change's new module built (or of that module itself) follows from its constructor call.
    """
    if _declarable_setting(check, difference) is None:
        return False  # also a child set to None, which reads as a setting: that is the change itself
    module = check.root.get_submodule(difference.path)
    if trace.call_of(module) is None:
        return False  # a deep copy, or built before tracing: declared from its original's call
    builders = {id(ancestor) for ancestor in _builders(module, trace)}
    changes = [path for path in path_and_ancestors(difference.path) if path in explained]
    return bool(changes) and all(
        (new := check.root.get_submodule(path)) is not module and id(new) not in builders for path in changes
    )


def _builders(module: nn.Module, trace: Trace) -> list[nn.Module]:
    """The modules whose ``__init__`` was running when ``module`` was built, innermost first."""
    found: list[nn.Module] = []
    call = trace.call_of(module)
    while call is not None and call.parent is not None and all(call.parent is not m for m in found):
        found.append(call.parent)
        call = trace.call_of(call.parent)
    return found


def _calls_on_new_modules(check: _RootCheck) -> list[LibraryCall]:
    """The library calls that changed a module the script put in place after building it
    (``head.register_forward_hook(f)``, ``prune.l1_unstructured(head, "weight")`` before ``model.classifier =
    head``): its constructor call does not make them, so they are made again."""
    return [
        call
        for path, calls in check.calls.items()
        if any(_under(path, changed) for changed in check.changed)
        for call in calls
    ]


def _declarable_setting(check: _RootCheck, difference: Difference) -> SettingChange | None:
    """The attribute to set again for a module both models have: a changed plain setting that can be written as a
    literal, or instance state the script put there (a ``forward`` bound to the instance, an object), which
    planning renders or refuses by name; ``None`` for any other difference (a removed setting or state, a child
    set to ``None``)."""
    if (
        difference.kind not in ("setting", "state")
        or difference.got is ABSENT
        or difference.path not in check.expected.modules
    ):
        return None
    module = check.root.get_submodule(difference.path)
    if difference.kind == "state":
        return SettingChange(difference.path, difference.name, vars(module)[difference.name])
    return literal_setting(module, difference.path, difference.name)


def literal_setting(module: nn.Module, path: str, name: str) -> SettingChange | None:
    """The setting ``name`` of ``module`` (at ``path``) to set again, when ``module`` holds it as a value that can be
    written as a literal; ``None`` for a child, an object, or an attribute it does not hold."""
    value = vars(module).get(name, _ABSENT)
    if name in module._modules or not _is_literal(value):
        return None
    return SettingChange(path, name, value)


_ABSENT = object()


def _is_literal(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return type(value) in (list, tuple) and all(_is_literal(item) for item in value)
    return type(value) in (bool, int, float, str, type(None))


def _rebuilt_containers(root: nn.Module, reference: nn.Module) -> dict[int, nn.Module]:
    """``id(container of root)`` -> the container at the same path of the rebuilt ``reference``."""
    found = {}
    for path, module in root.named_modules():
        if type(module) in (nn.ModuleList, nn.Sequential):
            try:
                found[id(module)] = reference.get_submodule(path)
            except AttributeError:
                continue
    return found


def _as_rebuilt(modification: Modification, rebuilt: dict[int, nn.Module]) -> Modification:
    """An item appended to a container is a replaced item where the original class now builds one there.

    ``layers.append(copy.deepcopy(layers[-1]))`` with ``config.num_hidden_layers`` updated: the original class
    builds three layers; the third is the one the script replaced, not one more.
    """
    container = rebuilt.get(id(modification.owner))
    if modification.kind != "add" or container is None or modification.name not in container._modules:
        return modification
    return dataclasses.replace(modification, kind="set", old=container._modules[modification.name])


def _effect_calls(
    root: nn.Module, trace: Trace, not_replayed: frozenset[Callable[..., Any]]
) -> dict[str, list[LibraryCall]]:
    """The library calls that changed modules of ``root`` themselves, by module path: those that registered
    tensors or hooks, and those that attached modules they built (``register_parametrization``).

    The call that built ``root`` (``from_pretrained``) is its definition, not a change.
    """
    built = trace.call_of(root)
    construction = built.within if built is not None else None
    owners = [(effect.owner, effect.call) for effect in trace.effects]
    owners += [(call_owner, call) for call_owner, call in _building_calls(trace)]
    found: dict[str, list[LibraryCall]] = {}
    paths: dict[int, list[str]] | None = None
    modules = set(root.modules())
    for owner, call in owners:
        if call is None or call is construction or not is_replayable(call, modules):
            continue
        if replayed_function(call) in not_replayed:
            continue
        paths = paths if paths is not None else paths_index(root)
        for path in paths.get(id(owner), ()):
            if call not in found.setdefault(path, []):
                found[path].append(call)
    return found


def _building_calls(trace: Trace) -> list[tuple[nn.Module, LibraryCall]]:
    """``(owner, call)`` of each recorded change that attached a module the call built itself."""
    found = []
    for modification in trace.modifications:
        built = trace.call_of(modification.new) if modification.new is not None else None
        if modification.call is not None and built is not None and built.within is modification.call:
            found.append((modification.owner, modification.call))
    return found


def _infer(check: _RootCheck, difference: Difference, trace: Trace) -> tuple[Modification | None, str | None]:
    """A modification for a module-tree difference the tracer did not see, or ``(None, advice key)``."""
    path = difference.path
    if not path:
        return None, _class_advice(check.root, trace)
    parent_path, _, child = path.rpartition(".")
    owner = check.root.get_submodule(parent_path)
    new = owner._modules.get(child)
    old = check.reference.get_submodule(path) if path in check.expected.modules else None
    if difference.kind == "class" and is_parametrized_class(type(new)):
        return None, "parametrization"
    if new is None:
        return _inferred("set" if child in owner._modules else "delete", owner, child, old, None), None
    call = trace.call_of(new)
    if call is None or not built_like(call.cls, type(new)):
        return None, _class_advice(new, trace)
    return _inferred("add" if old is None else "set", owner, child, old, new), None


def built_like(built: type, now: type) -> bool:
    """Whether a module built as ``built`` whose ``__class__`` is now ``now`` is what ``now(...)`` builds with the
    same arguments: ``now`` subclasses ``built`` and adds no constructor of its own."""
    return now is built or (issubclass(now, built) and now.__init__ is built.__init__)


def _inferred(kind: str, owner: nn.Module, name: str, old: Any, new: nn.Module | None) -> Modification:
    return Modification(kind=kind, owner=owner, name=name, old=old, new=new, filename="<inferred>", lineno=0)


def _class_advice(module: nn.Module, trace: Trace) -> str:
    """Why a module of another class cannot be declared from a constructor call."""
    call = trace.call_of(module)
    if call is not None and call.cls is not type(module):
        return "swap"
    return "unrecorded"


_ADVICE = {
    "pruning": (
        "torch.nn.utils.prune: make the pruning permanent at the end of the script with "
        "torch.nn.utils.prune.remove(module, 'weight'); the pruned weight becomes a plain parameter whose zeros are "
        "saved in the state_dict, and the original class loads it."
    ),
    "norm hook": (
        "old-style weight_norm/spectral_norm: remove it at the end of the script "
        "(torch.nn.utils.remove_weight_norm(module) or remove_spectral_norm(module)) to keep the weight it computed, "
        "or apply it inside the __init__ of a module class of your own and assign an instance of that class."
    ),
    "parametrization": (
        "parametrizations: remove them at the end of the script with "
        "torch.nn.utils.parametrize.remove_parametrizations(module, 'weight') (the parametrized value is kept), or "
        "register them inside the __init__ of a module class of your own and assign an instance of that class."
    ),
    "hook": (
        "hooks: register them inside the __init__ of a module class of your own and assign an instance of that "
        "class, or register them again after loading the model (checkpoints do not hold hooks)."
    ),
    "setting": (
        "settings: set the value through the config before the model is built, where the class reads it from the "
        "config, or make it a constructor argument of a module class of your own and assign an instance of it."
    ),
    "sharing": (
        "ties: the model's class ties weights from its config; set the config's tying option "
        "(tie_word_embeddings) to what you want before building the model instead of sharing or unsharing tensors "
        "by assignment."
    ),
    "state": (
        "instance state: give the module class of your own that attribute in its __init__ (or as a method, for a "
        "forward patched on one instance) and assign an instance of that class, or set the attribute again after "
        "loading the model."
    ),
    "tensor": (
        "tensors: assign a new module built with the shapes and dtypes you want (owner.attribute = "
        "nn.Linear(..., dtype=...)) instead of changing a module's parameters or buffers in place."
    ),
    "swap": (
        "__class__ swaps: build an instance of the new class and assign it in place of the module (owner.attribute "
        "= NewClass(...)), copying the weights with load_state_dict, instead of setting __class__."
    ),
    "unrecorded": (
        "modules put in place without an assignment: build the module with its constructor in the traced script "
        "and assign it (owner.attribute = ...) rather than writing _modules or reusing a module built before "
        "tracing."
    ),
}
_PRUNING_HOOKS = ("torch.nn.utils.prune.",)
_NORM_HOOKS = ("torch.nn.utils.weight_norm.", "torch.nn.utils.spectral_norm.")


def _advice_key(difference: Difference, by_path: dict[str, set[str]]) -> str:
    """Which advice fits ``difference``; the other differences of its module (``by_path``) tell pruning apart."""
    hooks = by_path.get(difference.path, set())
    if any(hook.startswith(_PRUNING_HOOKS) for hook in hooks):
        return "pruning"
    if any(hook.startswith(_NORM_HOOKS) for hook in hooks):
        return "norm hook"
    if difference.kind in ("parametrization", "class") or ".parametrizations" in f".{difference.path}":
        return "parametrization"
    return {"hook": "hook", "setting": "setting", "sharing": "sharing", "state": "state"}.get(
        difference.kind, "tensor"
    )


def _refusal(check: _RootCheck, refused: list[tuple[Difference, str | None]]) -> str:
    hooks_by_path: dict[str, set[str]] = {}
    for difference, _ in refused:
        if difference.kind == "hook":
            hooks_by_path.setdefault(difference.path, set()).update(difference.got)
    keys = [advice or _advice_key(difference, hooks_by_path) for difference, advice in refused]
    lines = [_described(check, difference) for difference, _ in refused]
    shown = "\n  ".join(lines[:12]) + (f"\n  ... and {len(lines) - 12} more" if len(lines) > 12 else "")
    advice = "\n  - ".join(_ADVICE[key] for key in dict.fromkeys(keys))
    cls = type(check.reference).__qualname__
    return (
        f"{check.name}: the traced model differs from {cls} rebuilt as it was built, in ways no recorded "
        f"assignment explains and the codemod cannot declare:\n  {shown}\nFix, by kind of change:\n  - {advice}"
    )


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _under(name: str, path: str) -> bool:
    return not path or name == path or name.startswith(path + ".")


def _described(check: _RootCheck, difference: Difference) -> str:
    line = difference.describe("original", "traced")
    info = check.got.modules.get(difference.path)
    if difference.kind == "class" and info is not None and info.parametrizations:
        tensors = "; ".join(
            f"{name} by {' -> '.join(classes)}" for name, (classes, _) in info.parametrizations.items()
        )
        line += f" (parametrized: {tensors})"
    elif difference.kind == "class":
        inside = _swapped_inside(check, difference.path)
        if inside:
            line += f"; classes also differ inside it, at {', '.join(inside[:3])}" + (
                f" and {len(inside) - 3} more" if len(inside) > 3 else ""
            )
    return line


def _swapped_inside(check: _RootCheck, path: str) -> list[str]:
    """Paths under ``path`` whose module is of another class than at the same path of the rebuilt original
    (the comparison does not look inside a module of another class; the user should see how far a swap goes)."""
    traced = check.root.get_submodule(path)
    found = []
    for name, module in traced.named_modules():
        if not name:
            continue
        full = _join(path, name)
        try:
            original = check.reference.get_submodule(full)
        except AttributeError:
            continue
        if type(original) is not type(module):
            found.append(full)
    return found
