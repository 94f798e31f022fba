"""The declaration half's entry points: ``generate`` and ``verify`` (for the command line), ``declare``.

>>> with trace() as t:
...     model = RobertaForMaskedLM(config)
...     model.roberta.embeddings.word_embeddings = MyEmbeddings(config)
>>> print(declare(model, trace=t))   # RobertaEmbeddingsModified, RobertaModelModified, ...
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence

import torch
from torch import nn

from archit_codemod.declaration.checking.completeness import check_completeness
from archit_codemod.declaration.checking.removed_hooks import removed_hooks_refusal
from archit_codemod.declaration.checking.settings_again import settings_to_set_again
from archit_codemod.declaration.checking.verify import verify
from archit_codemod.declaration.checking.verify import verify as verify_output
from archit_codemod.declaration.emitting.output import Mode, Output
from archit_codemod.declaration.emitting.subclass import emit_subclass
from archit_codemod.declaration.errors import DeclarationError, VerificationError
from archit_codemod.declaration.planning.planner import make_plan
from archit_codemod.declaration.provenance import Provenance
from archit_codemod.declaration.records import Modification, SettingChange, Trace
from archit_codemod.declaration.script import ScriptSource
from archit_codemod.declaration.stages import stage

__all__ = ["Output", "declare", "generate", "infer_trace", "reaches", "verified", "verify"]


def generate(
    trace: Trace,
    roots: dict[str, nn.Module],
    *,
    suffix: str = "Modified",
    mode: Mode = "subclass",
    prune: bool = False,
    provenance: Provenance | None = None,
    settings_again: Mapping[str, Sequence[SettingChange]] | None = None,
) -> Output:
    """Generate the classes that declare what ``trace`` recorded for ``roots``.

    ``mode`` is ``"subclass"`` (one module of subclasses) or ``"vendor"`` (edited copies of the original files;
    ``prune`` leaves out what the modified models do not use). ``provenance`` says how the header names the
    script and the traced statements, and where the output will be imported from (default: file names only,
    imported from an unknown folder). ``settings_again`` (root name -> settings) are set again by the root
    classes besides those the completeness check finds (see :func:`verified`).

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
        checked = check_completeness(trace, roots)
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
        )
    with stage("rendering"):
        if mode == "vendor":
            from archit_codemod.declaration.emitting.vendor import emit_vendor

            return emit_vendor(plan, prune=prune)
        return emit_subclass(plan)


def verified(
    output: Output,
    trace: Trace,
    roots: dict[str, nn.Module],
    generate_again: Callable[[Mapping[str, Sequence[SettingChange]]], Output],
) -> Output:
    """``output`` once verified; or, when verification finds only plain settings the script changed after
    building a module (:mod:`~archit_codemod.declaration.checking.settings_again`), the output
    ``generate_again(settings_again)`` returns with those set again, verified.

    Raises:
        DeclarationError: verification finds only hooks the script removed through their handles
            (:mod:`~archit_codemod.declaration.checking.removed_hooks`).
        VerificationError: anything else differs, or the output generated again does not rebuild the model.
    """
    settings_again: dict[str, list[SettingChange]] = {}
    while True:
        try:
            verdict = verify_output(output, trace, roots)
            return dataclasses.replace(output, warnings=(*output.warnings, *verdict.notes()))
        except VerificationError as failure:
            found = settings_to_set_again(failure, roots)
            if found is None or found[0] in settings_again:
                root = roots.get(failure.root_name or "")
                refusal = removed_hooks_refusal(failure, trace, root) if root is not None else None
                if refusal is not None:
                    raise refusal from None
                raise
            settings_again[found[0]] = found[1]
        output = generate_again(settings_again)


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
    output = generate(trace, roots, suffix=suffix)
    if verify:
        again = functools.partial(generate, trace, roots, suffix=suffix)
        output = verified(output, trace, roots, lambda settings: again(settings_again=settings))
    return output.source


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
