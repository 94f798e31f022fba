"""Replacements that ``post_init`` would change: the root's generated class makes them after it, as the script did.

A generated ``__init__`` builds a replacement where the original ``__init__`` built the module it replaces, so
before ``self.post_init()``; the traced script replaced it after. When ``post_init`` changes what it finds at that
path (transformers 4.57's ``BertLMPredictionHead._tie_weights`` sets ``decoder.bias`` on whatever the decoder is),
the rebuilt replacement differs from the traced one. To tell, a copy of the traced root on ``meta`` (no weights are
copied) runs ``post_init`` again, with the tie overrides its generated classes will have: each replacement whose
modules, parameters or buffers that changes is made by the root's generated class after its ``__init__``.

The copy costs as much as the model is large, and ``post_init`` changes a replacement rarely: a verified generation
(:func:`~archit_codemod.declaration.api.generate_verified`) asks only when verification of an output planned
without asking finds a difference, and plans again with the answer.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable

import torch
from torch import nn

from archit_codemod.declaration.checking.compare import path_and_ancestors
from archit_codemod.declaration.errors import DeclarationError, VerificationError
from archit_codemod.declaration.planning.transformers_policy import TieOverrides, tie_overrides
from archit_codemod.declaration.planning.walk import join
from archit_codemod.declaration.pretrained import is_pretrained_model
from archit_codemod.declaration.records import Trace
from archit_codemod.declaration.tracing.changes import Change, Changes, changes_without, net_changes

Deferred = list[tuple[str, Change]]
"""``(path from the root, change)`` of each replacement made after ``post_init``."""


def replacements_post_init_changes(root: nn.Module, changes: Changes) -> Deferred:
    """The replacements under ``root`` (a transformers model) that its ``post_init`` would change."""

    if not is_pretrained_model(root):
        return []
    replaced = _replacements(root, changes)
    if not replaced:
        return []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            probe = _meta_copy(root)
            before = {path: _structure(probe.get_submodule(path)) for path, _ in replaced}
            # On the meta device transformers skips initialising weights (values the probe does not compare) and
            # still ties them.
            with torch.device("meta"):
                _run_post_inits(root, probe, lambda module, path: tie_overrides(module, path, changes))
            after = {path: _structure(probe.get_submodule(path)) for path, _ in replaced}
    except Exception:  # noqa: BLE001 - a model the probe cannot copy or initialise: keep the usual placement
        return []
    deferred = [(path, change) for path, change in replaced if before[path] != after[path]]
    _refuse_ties_the_model_would_add(
        root, probe, [path for path, _ in replaced if before[path] == after[path]]
    )
    return deferred


_STRUCTURE = frozenset({"module", "class", "parameter", "buffer", "sharing"})
"""The kinds of :class:`~archit_codemod.declaration.checking.compare.Difference` that a change ``post_init`` makes
below a replacement shows as: what :func:`_structure` compares, and the ties it adds."""


def post_init_may_explain(failure: VerificationError, roots: dict[str, nn.Module], trace: Trace) -> bool:
    """Whether what verification found can be ``post_init`` changing a replacement the generated classes build before
    it: a module, tensor or tie at or below a module the script replaced (as ``trace`` recorded)."""
    root = roots.get(failure.root_name or "")
    if root is None:
        return False
    replaced = {path for path, _ in _replacements(root, net_changes(trace))}
    return any(
        path in replaced
        for difference in failure.differences
        if difference.kind in _STRUCTURE
        for name in (difference.where, *difference.related)
        for path in path_and_ancestors(name)
    )


def without_deferred(changes: Changes, deferred: Deferred) -> Changes:
    """``changes`` without the deferred replacements (the root's generated class makes them)."""
    ids = {id(change) for _, change in deferred}
    return changes_without(changes, lambda change: id(change) in ids)


def _replacements(root: nn.Module, changes: Changes) -> Deferred:
    """Each child replaced by a module (not deleted, added or set to ``None``), with its first path in ``root``."""
    found = []
    for path, module in root.named_modules():
        for name, change in changes.get(module, {}).items():
            if change.kind == "set" and change.old is not None and change.new is not None:
                found.append((join(path, name), change))
    return found


def _meta_copy(root: nn.Module) -> nn.Module:
    """A deep copy of ``root`` whose parameters and buffers are empty ``meta`` tensors (tied ones stay one)."""
    memo: dict[int, object] = {}
    for module in root.modules():
        for parameter in module._parameters.values():
            if parameter is not None and id(parameter) not in memo:
                memo[id(parameter)] = nn.Parameter(
                    torch.empty_like(parameter, device="meta"), requires_grad=parameter.requires_grad
                )
        for buffer in module._buffers.values():
            if buffer is not None and id(buffer) not in memo:
                memo[id(buffer)] = torch.empty_like(buffer, device="meta")
    return copy.deepcopy(root, memo)


def _run_post_inits(
    root: nn.Module, probe: nn.Module, overrides: Callable[[nn.Module, str], TieOverrides]
) -> None:
    """``post_init`` of every transformers model in ``probe``, inner ones first, as their construction ran them."""

    traced = dict(root.named_modules())
    models = [(path, module) for path, module in probe.named_modules() if is_pretrained_model(module)]
    for path, model in reversed(models):
        tie = overrides(traced[path], path)
        if tie.tied_weights_keys is not None:
            model._tied_weights_keys = tie.tied_weights_keys
        if tie.no_output_embeddings:
            model.get_output_embeddings = _no_output_embeddings
        model.post_init()


def _refuse_ties_the_model_would_add(root: nn.Module, probe: nn.Module, paths: list[str]) -> None:
    """Refuse when ``post_init`` ties a parameter under one of ``paths`` to another that the traced model keeps apart.

    A model that ties by module path or pattern (Zamba ties every parameter under each hybrid layer's block to the
    first's) ties the parameters of a replacement too; a generated class builds the replacement and then runs
    ``post_init``, so it would rebuild as one tensor what the script gave each path separately.
    """
    traced = {name: id(tensor) for name, tensor in root.named_parameters(remove_duplicate=False)}
    sharing: dict[int, list[str]] = {}
    for name, tensor in probe.named_parameters(remove_duplicate=False):
        sharing.setdefault(id(tensor), []).append(name)
    prefixes = tuple(path + "." for path in paths)
    for names in sharing.values():
        if len(names) < 2:
            continue  # a tensor at one path only shares nothing
        inside = [name for name in names if name.startswith(prefixes)]
        apart = [other for other in names if traced.get(other) != traced.get(inside[0])] if inside else []
        if apart:
            raise DeclarationError(
                f"{inside[0]}: the model's own ties (what its post_init ties: _tied_weights_keys, by name, module "
                f"or pattern) make it one tensor with {apart[0]}, which the traced model keeps apart; a generated "
                "class builds the replacement before post_init, so it would rebuild them tied. Fix: place one "
                "replacement object at every path the model ties, or call model.tie_weights() after the "
                "replacement in the script, so that the traced model shares them as the model's classes do."
            )


def _no_output_embeddings() -> None:
    return None


def _structure(module: nn.Module) -> tuple:
    """What a rebuild must agree on below a replacement: module paths and classes, parameter and buffer names."""
    return (
        tuple((path, type(sub)) for path, sub in module.named_modules(remove_duplicate=False)),
        tuple(name for name, _ in module.named_parameters(remove_duplicate=False)),
        tuple(name for name, _ in module.named_buffers(remove_duplicate=False)),
    )
