"""The declaration half's entry points: ``generate_verified`` (for the command line and the Python API),
``generate`` and ``verify`` (its steps), ``declare``.

>>> with trace() as t:
...     model = RobertaForMaskedLM(config)
...     model.roberta.embeddings.word_embeddings = MyEmbeddings(config)
>>> print(declare(model, trace=t))   # RobertaEmbeddingsModified, RobertaModelModified, ...
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from archit_codemod.declaration.checking.completeness import check_completeness
from archit_codemod.declaration.checking.removed_hooks import removed_hooks_refusal
from archit_codemod.declaration.checking.settings_again import settings_to_set_again
from archit_codemod.declaration.checking.verify import Verdict
from archit_codemod.declaration.checking.verify import verify as verify_output
from archit_codemod.declaration.emitting.output import Mode, Output
from archit_codemod.declaration.emitting.subclass import emit_subclass
from archit_codemod.declaration.emitting.unsaved_buffers import recompute_unsaved_buffers, unsaved_buffers
from archit_codemod.declaration.errors import DeclarationError, ReplayError
from archit_codemod.declaration.importability import imported_as_users_will
from archit_codemod.declaration.planning.planner import make_plan
from archit_codemod.declaration.planning.post_init import post_init_may_explain
from archit_codemod.declaration.provenance import Provenance
from archit_codemod.declaration.records import Modification, SettingChange, Trace
from archit_codemod.declaration.script import ScriptSource
from archit_codemod.declaration.stages import stage

_log = logging.getLogger(__name__)
"""Status records (``verifying``), which the command line shows as status lines."""

__all__ = [
    "Output",
    "Verdict",
    "declare",
    "generate",
    "generate_verified",
    "infer_trace",
    "reaches",
    "verify",
]


def generate(
    trace: Trace,
    roots: dict[str, nn.Module],
    *,
    suffix: str = "Modified",
    mode: Mode = "subclass",
    prune: bool = False,
    provenance: Provenance | None = None,
    settings_again: Mapping[str, Sequence[SettingChange]] | None = None,
    not_replayed: frozenset[Callable[..., Any]] = frozenset(),
    probe_post_init: bool = True,
) -> Output:
    """Generate the classes that declare what ``trace`` recorded for ``roots``.

    ``mode`` is ``"subclass"`` (one module of subclasses) or ``"vendor"`` (edited copies of the original files;
    ``prune`` leaves out what the modified models do not use). ``provenance`` says how the header names the
    script and the traced statements, and where the output will be imported from (default: file names only,
    imported from an unknown folder). ``settings_again`` (root name -> settings) are set again by the root
    classes besides those the completeness check finds (see :func:`generate_verified`). Library calls that call one
    of ``not_replayed`` are not made again: what they changed is declared from the modules as they are.
    ``probe_post_init=False`` leaves out the question which replacements ``post_init`` would change (see
    :func:`~archit_codemod.declaration.planning.planner.make_plan`): only for an output that is verified.

    First each root is compared with its original class rebuilt on ``meta``
    (:func:`~archit_codemod.declaration.checking.completeness.check_completeness`): what the trace missed is added
    or refused, and changes the original class rebuilds are dropped.

    Raises:
        DeclarationError: a modification cannot be declared faithfully; the message names the module
            path, the class and the argument.
        NothingModifiedError: nothing changed under any of ``roots``, or the original classes rebuild
            every change.
        InternalError: a bug of archit_codemod; names the stage.
    """
    if mode == "vendor" and provenance is not None:
        # Remote code is imported as a package of its own: nothing beside the script is importable from it.
        provenance = dataclasses.replace(provenance, output_folder=None)
    script = ScriptSource.of(trace, provenance)
    with stage("checking"):
        checked = check_completeness(trace, roots, not_replayed)
    for warning in checked.warnings:
        script.warn(warning)
    for root_name, settings in (settings_again or {}).items():
        checked.settings[root_name] = [*checked.settings.get(root_name, []), *settings]
    with stage("planning"):
        plan = make_plan(
            checked.trace,
            checked.roots,
            script,
            suffix=suffix,
            replayed=checked.replayed,
            settings=checked.settings,
            not_replayed=not_replayed,
            probe_post_init=probe_post_init,
        )
        plan = recompute_unsaved_buffers(plan, unsaved_buffers(checked.trace, checked.roots), mode)
    with stage("rendering"):
        if mode == "vendor":
            from archit_codemod.declaration.emitting.vendor import emit_vendor

            return emit_vendor(plan, prune=prune)
        return emit_subclass(plan)


def verify(output: Output, trace: Trace | None, roots: dict[str, nn.Module]) -> Verdict:
    """Check that ``output`` rebuilds each of ``roots`` (see :mod:`~archit_codemod.declaration.checking.verify`).

    Raises:
        VerificationError: the first root the generated code does not rebuild, with its differences.
        ReplayError: a library call the generated class makes again fails.
    """
    verdict = verify_output(output, trace, roots)
    if verdict.refusal is not None:
        raise verdict.refusal
    if verdict.failure is not None:
        raise verdict.failure
    return verdict


def generate_verified(
    trace: Trace,
    roots: dict[str, nn.Module],
    *,
    suffix: str = "Modified",
    mode: Mode = "subclass",
    prune: bool = False,
    provenance: Provenance | None = None,
) -> Output:
    """:func:`generate`, then verify the output as its users will import it; when verification finds only plain
    settings that the script changed after building a module
    (:mod:`~archit_codemod.declaration.checking.settings_again`), generate once more with those set again, and
    verify that. The first output assumes that ``post_init`` changes no replacement the script made; only when
    verification finds a difference below one is that asked (:mod:`~archit_codemod.declaration.planning.post_init`,
    which copies the whole model), and the output generated again. The output's warnings say which roots' outputs
    were not compared with the traced model's, and why.

    Raises:
        DeclarationError: a modification cannot be declared faithfully; or verification finds only hooks the script
            removed through their handles (:mod:`~archit_codemod.declaration.checking.removed_hooks`).
        NothingModifiedError: nothing changed under any of ``roots``, or the original classes rebuild every change.
        VerificationError: the generated code does not rebuild the traced model.
    """
    settings_again: dict[str, list[SettingChange]] = {}
    not_replayed: frozenset[Callable[..., Any]] = frozenset()
    refused: ReplayError | None = None
    script_folder = trace.script_path.parent if trace.script_path is not None else None
    probe_post_init = False
    while True:
        try:
            output = generate(
                trace,
                roots,
                suffix=suffix,
                mode=mode,
                prune=prune,
                provenance=provenance,
                settings_again=settings_again,
                not_replayed=not_replayed,
                probe_post_init=probe_post_init,
            )
        except DeclarationError:
            if refused is not None:
                raise refused from None  # what the call changed has no other form either
            raise
        _log.info("verifying")
        # Imported as users will: from its own folder (a subclass module), or as a package of its own (remote code).
        imported_from = provenance.output_folder if provenance is not None and mode == "subclass" else None
        with imported_as_users_will(script_folder, imported_from):
            verdict = verify_output(output, trace, roots)
        if verdict.refusal is not None:
            if verdict.refusal.function in not_replayed:
                raise verdict.refusal
            # Making the call again fails (it depends on the model's values or mode, not on its structure):
            # declare the structure it left instead, module by module.
            refused = refused or verdict.refusal
            not_replayed |= {verdict.refusal.function}
            continue
        failure = verdict.failure
        if refused is not None and verdict.fails_on_meta:
            raise refused  # declared module by module, it fails where from_pretrained builds: no better
        if failure is None:
            return dataclasses.replace(output, warnings=(*output.warnings, *verdict.notes()))
        if not probe_post_init and post_init_may_explain(failure, roots, trace):
            # Planned on the assumption that post_init changes no replacement, and verification finds a difference
            # below one: plan again knowing which it changes (asking copies the model and runs its post_init).
            probe_post_init = True
            continue
        found = settings_to_set_again(failure, roots)
        if found is None or found[0] in settings_again:
            if refused is not None:
                raise refused
            root = roots.get(failure.root_name or "")
            refusal = removed_hooks_refusal(failure, trace, root) if root is not None else None
            raise refusal if refusal is not None else failure
        settings_again[found[0]] = found[1]


def declare(
    model: nn.Module, *, trace: Trace | None = None, suffix: str = "Modified", verify: bool = True
) -> str:
    """The source of classes that declare ``model`` as it is now.

    With no ``trace``, the active trace is used (inside ``with archit_codemod.declaration.tracing.tracer.trace():``);
    outside of any trace, the modifications are inferred by comparing ``model`` with a reference built from
    its config on the ``meta`` device, and replacement modules must be torch built-ins whose attributes
    determine them (``nn.Linear``, ``nn.Embedding``, ``nn.LayerNorm``, ``nn.Dropout``, ``nn.Identity``, ...).
    """
    if trace is None:
        from archit_codemod.declaration.tracing.tracer import current_trace

        trace = current_trace()
    if trace is None or not reaches(trace, model):
        trace = infer_trace(model)
    roots = {"model": model}
    if not verify:
        return generate(trace, roots, suffix=suffix).source
    return generate_verified(trace, roots, suffix=suffix).source


def infer_trace(model: nn.Module, reference_class: type | None = None) -> Trace:
    """A trace of ``model``'s modifications inferred by comparison with a fresh ``meta`` build of its class.

    Only the structure is compared: a child whose class differs, a child that is missing, ``None`` or new,
    and a built-in leaf whose own parameter shapes differ (``nn.Linear(32, 64)`` in place of ``(32, 96)``).
    """
    config = getattr(model, "config", None)
    if config is None:
        raise DeclarationError(
            f"{type(model).__qualname__} has no config to build a reference from, and no trace recorded how it "
            "was modified. Fix: run the script under `python -m archit_codemod SCRIPT`, or modify the model "
            "inside `with archit_codemod.declaration.tracing.tracer.trace():`."
        )
    cls = reference_class or type(model)
    with torch.device("meta"):
        reference = cls(config)
    trace = Trace()
    _compare(reference, model, trace)
    return trace


def _compare(reference: nn.Module, model: nn.Module, trace: Trace) -> None:
    for name in list(reference._modules) + [n for n in model._modules if n not in reference._modules]:
        old = reference._modules.get(name)
        new = model._modules.get(name)
        if name not in model._modules:
            trace.modifications.append(_inferred("delete", model, name, old, None))
        elif name not in reference._modules:
            trace.modifications.append(_inferred("add", model, name, None, new))
        elif old is None or new is None:
            if old is not new:
                trace.modifications.append(_inferred("set", model, name, old, new))
        elif type(old) is not type(new) or _own_shapes(old) != _own_shapes(new):
            trace.modifications.append(_inferred("set", model, name, old, new))
        else:
            _compare(old, new, trace)


def _own_shapes(module: nn.Module) -> dict[str, tuple[int, ...]]:
    return {name: tuple(p.shape) for name, p in module.named_parameters(recurse=False)}


def _inferred(kind, owner, name, old, new) -> Modification:
    return Modification(kind=kind, owner=owner, name=name, old=old, new=new, filename="<inferred>", lineno=0)


def reaches(trace: Trace, model: nn.Module) -> bool:
    """Whether any recorded modification is inside ``model``."""
    inside = {id(module) for module in model.modules()}
    return any(id(modification.owner) in inside for modification in trace.modifications)
