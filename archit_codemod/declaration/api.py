"""The declaration half's entry points: ``generate`` and ``verify`` (for the command line), ``declare``.

>>> with trace() as t:
...     model = RobertaForMaskedLM(config)
...     model.roberta.embeddings.word_embeddings = MyEmbeddings(config)
>>> print(declare(model, trace=t))   # RobertaEmbeddingsModified, RobertaModelModified, ...
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from archit_codemod.declaration.emit import assemble
from archit_codemod.declaration.errors import DeclarationError, NothingModifiedError
from archit_codemod.declaration.names import NameTable
from archit_codemod.declaration.plan import Planner
from archit_codemod.declaration.provenance import Provenance, change_lines, class_uses
from archit_codemod.declaration.records import Modification, Trace
from archit_codemod.declaration.verify import verify_source

__all__ = ["Generated", "declare", "generate", "infer_trace", "reaches", "verify"]


@dataclass
class Generated:
    """The generated module and what it declares."""

    source: str
    """The whole generated module."""
    root_classes: dict[str, str]
    """Root name -> name of the generated class that declares it."""
    warnings: list[str] = field(default_factory=list)
    original_of: dict[str, type] = field(default_factory=dict, repr=False)
    """Generated class name -> the class it subclasses (for verification)."""


def generate(
    trace: Trace,
    roots: dict[str, nn.Module],
    *,
    suffix: str = "Modified",
    provenance: Provenance | None = None,
) -> Generated:
    """Generate the classes that declare what ``trace`` recorded for ``roots``.

    ``provenance`` says how the header names files and where the output will be imported from (default:
    file names only, location unknown).

    Raises:
        DeclarationError: a modification cannot be declared faithfully; the message names the module
            path, the class and the argument.
        NothingModifiedError: nothing changed under any of ``roots``.
    """
    script_path = Path(trace.script_path) if trace.script_path is not None else None
    provenance = provenance or Provenance(script=script_path)
    names = NameTable(
        script_module_name=trace.script_module_name,
        script_path=script_path,
        script_namespace=trace.namespace,
        output_folder=provenance.output_folder,
    )
    planner = Planner(trace, names, suffix=suffix)
    root_classes: dict[str, str] = {}
    for root_name, root in roots.items():
        generated = planner.class_for(root, "")
        if generated is not None:
            root_classes[root_name] = generated.name
    if not root_classes:
        raise NothingModifiedError(
            f"No submodule of {', '.join(roots) or 'the given models'} was modified after its construction."
        )
    uses = class_uses(planner.generated, planner.changes, roots, provenance)
    source = assemble(
        names,
        planner.generated,
        script_path=provenance.script_label(),
        root_names=list(root_classes),
        changes=change_lines(uses),
    )
    return Generated(
        source=source,
        root_classes=root_classes,
        warnings=list(dict.fromkeys(planner.warnings)),
        original_of={
            **{name: obj for name, obj in names.copied_from_helpers.items() if inspect.isclass(obj)},
            **{g.name: g.original for g in planner.generated},
        },
    )


def verify(generated: Generated, trace: Trace, roots: dict[str, nn.Module]) -> None:
    """Import ``generated.source`` on its own and check each root class rebuilds its traced root (on meta).

    Raises:
        VerificationError: the module trees differ (the message lists the first differing paths) or the
            generated code fails to build.
    """
    verify_source(
        generated.source,
        generated.root_classes,
        {name: roots[name] for name in generated.root_classes},
        trace,
        generated.original_of,
    )


def declare(
    model: nn.Module, *, trace: Trace | None = None, suffix: str = "Modified", verify: bool = True
) -> str:
    """The source of classes that declare ``model`` as it is now.

    With no ``trace``, the active trace is used (inside ``with archit_codemod.declaration.tracer.trace():``);
    outside of any trace, the modifications are inferred by comparing ``model`` with a reference built from
    its config on the ``meta`` device, and replacement modules must be torch built-ins whose attributes
    determine them (``nn.Linear``, ``nn.Embedding``, ``nn.LayerNorm``, ``nn.Dropout``, ``nn.Identity``, ...).
    """
    if trace is None:
        from archit_codemod.declaration.tracer import current_trace

        trace = current_trace()
    if trace is None or not reaches(trace, model):
        trace = infer_trace(model)
    roots = {"model": model}
    generated = generate(trace, roots, suffix=suffix)
    if verify:
        verify_source(generated.source, generated.root_classes, roots, trace, generated.original_of)
    return generated.source


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
            "inside `with archit_codemod.declaration.tracer.trace():`."
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
