"""Buffers that a module computes in its ``__init__`` and does not save, computed again after ``from_pretrained``.

transformers 5's ``from_pretrained`` builds the model on the ``meta`` device, loads what the checkpoint holds, and
leaves everything else to the model's ``_init_weights``, which ``initialize_weights`` calls on every module once the
weights are in place. A non-persistent buffer (``register_buffer(..., persistent=False)``) is in no checkpoint:
transformers' own modules set theirs in their model's ``_init_weights`` (``position_ids``, a rotary embedding's
``inv_freq``), but a module of another library or of the script is unknown to it, and its buffers come back as
uninitialised memory (PEFT OFT's ``rows``/``cols`` index buffers: the forward then indexes with garbage).

So the generated class that transformers asks to initialise such a module (the nearest model above it:
``initialize_weights`` hands the modules of a nested ``PreTrainedModel`` to that model's ``_init_weights``) gets an
``_init_weights`` that does what the original does, then builds one module of that class again, on the CPU, and
copies the buffers it computes::

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, OFTRotationModule):
            computed = OFTRotationModule(r=module.r, n_elements=module.n_elements, ...)
            module.rows.copy_(computed.rows)
            module.cols.copy_(computed.cols)

Each ``__init__`` argument is read back from the module itself where it keeps it (a setting under the parameter's
name, or the child module it was given: ``Scaled(inner=module.inner, factor=0.5)``), else written as the literal
the recorded call passed. ``_init_weights`` is the member transformers documents for this (values are set in
``_init_weights``, never only in ``__init__``); nothing of it is private. A class is declared that way only when,
for every module of it in the traced model, one call form fits and the module it builds computes exactly the traced
buffers; a buffer that cannot be computed again is named in a warning, and the loading check of verification shows
whether it matters.

Which modules: those the modification brought (not built while the root model's ``__init__`` ran), of a class that
is not of the library whose model class defines the ``_init_weights`` in charge (a transformers model's knows
transformers' modules).
"""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import libcst as cst
from torch import nn

from archit_codemod.declaration.editing.layout import LINE_LENGTH
from archit_codemod.declaration.emitting.call_forms import call_form, computed_buffers
from archit_codemod.declaration.emitting.output import Mode
from archit_codemod.declaration.planning.plan import ClassMember, ClassPlan, Instance, Plan
from archit_codemod.declaration.pretrained import is_pretrained_model
from archit_codemod.declaration.records import Trace

__all__ = ["Recomputation", "UnsavedBuffers", "recompute_unsaved_buffers", "unsaved_buffers"]


@dataclass(frozen=True)
class Recomputation:
    """How the modules of one class get their unsaved buffers again: ``cls(**arguments)``, then a copy of each of
    ``buffers``. Each argument is ``(parameter, source)``, the source read with ``module`` bound to the module
    being initialised (``module.r``, ``0.5``)."""

    cls: type
    arguments: tuple[tuple[str, str], ...]
    buffers: tuple[str, ...]


@dataclass(frozen=True)
class UnsavedBuffers:
    """The unsaved buffers of the modules whose initialisation transformers hands to one model (``host``)."""

    host: Instance
    """The model (a transformers ``PreTrainedModel``) whose ``_init_weights`` transformers calls for the modules."""
    recomputed: tuple[Recomputation, ...]
    buffers: tuple[str, ...]
    """``path.buffer`` of each unsaved buffer of those modules."""
    not_recomputed: tuple[str, ...] = ()
    """Those that no module built again computes as traced."""


def unsaved_buffers(trace: Trace | None, roots: Mapping[str, nn.Module]) -> list[UnsavedBuffers]:
    """For each model that transformers asks to initialise modules the modification brought, how the unsaved buffers
    of those modules are computed again (see the module docstring)."""
    found = []
    for root_name, root in roots.items():
        if not is_pretrained_model(root):
            continue
        by_host: dict[str, list[tuple[str, nn.Module]]] = {}
        for path, module in _brought_with_unsaved_buffers(root, trace):
            host = _initialising_model(root, path)
            if not _known_to(root.get_submodule(host), module):
                by_host.setdefault(host, []).append((path, module))
        for host, modules in by_host.items():
            found.append(_recomputation(Instance(root_name, host), modules, trace))
    return found


def recompute_unsaved_buffers(plan: Plan, found: list[UnsavedBuffers], mode: Mode = "subclass") -> Plan:
    """``plan`` with an ``_init_weights`` member on each generated model class that computes buffers again after
    loading, and a warning naming the buffers that none computes again.

    A vendored class is the original's copy: where the original's body defines ``_init_weights`` itself, the member
    would replace it, so the buffers are named in the warning instead (subclass mode inherits it, and calls it).
    """
    plans = {instance: class_plan for class_plan in plan.classes for instance in class_plan.instances}
    recomputed: dict[str, dict[type, Recomputation]] = {}
    warnings = []
    for entry in found:
        class_plan = plans.get(entry.host)
        if class_plan is None or (mode == "vendor" and "_init_weights" in vars(class_plan.original)):
            warnings.append(_not_recomputed_warning(dataclasses.replace(entry, not_recomputed=entry.buffers)))
            continue
        for recomputation in entry.recomputed:
            recomputed.setdefault(class_plan.name, {})[recomputation.cls] = recomputation
        if entry.not_recomputed:
            warnings.append(_not_recomputed_warning(entry))
    if not recomputed and not warnings:
        return plan
    replaced = {
        class_plan.name: dataclasses.replace(
            class_plan,
            members=(
                *class_plan.members,
                ClassMember("_init_weights", _init_weights_method(class_plan, by_class.values(), plan)),
            ),
        )
        for class_plan in plan.classes
        if (by_class := recomputed.get(class_plan.name))
    }
    return dataclasses.replace(
        plan,
        classes=tuple(replaced.get(c.name, c) for c in plan.classes),
        roots={root: replaced.get(c.name, c) for root, c in plan.roots.items()},
        warnings=(*plan.warnings, *warnings),
    )


# -- which modules -------------------------------------------------------------------------------------------


def _brought_with_unsaved_buffers(root: nn.Module, trace: Trace | None) -> Iterator[tuple[str, nn.Module]]:
    """``(path, module)`` of each module under ``root`` that holds non-persistent buffers and that the modification
    brought."""
    for path, module in root.named_modules():
        if module._non_persistent_buffers_set and not _built_by(module, root, trace):
            yield path, module


def _known_to(host: nn.Module, module: nn.Module) -> bool:
    """Whether ``module``'s class is of the library whose model class defines ``host``'s ``_init_weights``: a
    transformers model's ``_init_weights`` sets the buffers of transformers' modules (transformers 5 requires it of
    every model), not those of another library's or the script's."""
    definer = next((cls for cls in type(host).__mro__ if "_init_weights" in vars(cls)), type(host))
    return _library(type(module)) == _library(definer)


def _library(cls: type) -> str:
    return cls.__module__.partition(".")[0]


def _built_by(module: nn.Module, root: nn.Module, trace: Trace | None) -> bool:
    """Whether ``module`` was built while ``root``'s ``__init__`` ran (then the root's class builds it)."""
    call = trace.call_of(module) if trace is not None else None
    while call is not None:
        if call.parent is root:
            return True
        call = trace.call_of(call.parent) if call.parent is not None else None
    return False


def _initialising_model(root: nn.Module, path: str) -> str:
    """The path of the innermost ``PreTrainedModel`` above ``path`` (the root's is ``""``): transformers'
    ``initialize_weights`` hands the module to that model's ``_init_weights``."""
    parts = path.split(".")
    for length in range(len(parts) - 1, 0, -1):
        ancestor = ".".join(parts[:length])
        if is_pretrained_model(root.get_submodule(ancestor)):
            return ancestor
    return ""


# -- how to compute them again -------------------------------------------------------------------------------


def _recomputation(
    host: Instance, modules: list[tuple[str, nn.Module]], trace: Trace | None
) -> UnsavedBuffers:
    by_class: dict[type, list[tuple[str, nn.Module]]] = {}
    for path, module in modules:
        by_class.setdefault(type(module), []).append((path, module))
    recomputed, missing = [], []
    for cls, instances in by_class.items():
        # One call form for every module of the class, and the buffers that it computes for each of them.
        forms = {path: call_form(module, trace) for path, module in instances}
        form = next(iter(forms.values()))
        computed = [
            computed_buffers(module, forms[path]) if form is not None and forms[path] == form else set()
            for path, module in instances
        ]
        common = set.intersection(*computed)
        for path, module in instances:
            missing += [f"{path}.{name}" for name in sorted(module._non_persistent_buffers_set - common)]
        if common:
            buffers = tuple(name for name in instances[0][1]._buffers if name in common)
            recomputed.append(Recomputation(cls, form.sources, buffers))
    every = tuple(
        f"{path}.{name}" for path, module in modules for name in sorted(module._non_persistent_buffers_set)
    )
    return UnsavedBuffers(host, tuple(recomputed), every, tuple(missing))


def _not_recomputed_warning(entry: UnsavedBuffers) -> str:
    shown = ", ".join(entry.not_recomputed[:5]) + (", ..." if len(entry.not_recomputed) > 5 else "")
    return (
        f"{entry.host.root}: {shown}: buffers that are not saved in a checkpoint (persistent=False) and that the "
        "generated classes cannot compute again after loading (no call of the module's class, with arguments read "
        "back from the module, computes them as traced). transformers 5's from_pretrained builds the model on the "
        "meta device and leaves such buffers uninitialised. Fix: keep the constructor's arguments as attributes of "
        "the same names, or register the buffers with persistent=True."
    )


# -- the member ------------------------------------------------------------------------------------------------

_INDENT = 4


def _init_weights_method(
    class_plan: ClassPlan, recomputed: Iterator[Recomputation] | Any, plan: Plan
) -> cst.FunctionDef:
    """``def _init_weights(self, module)`` that calls the original, then computes the buffers again."""
    where = f"{class_plan.name}._init_weights (buffers computed again after loading)"
    # A subclass before its base: ``isinstance`` takes the first branch that matches.
    ordered = sorted(recomputed, key=lambda r: -len(r.cls.__mro__))
    described = "; ".join(f"{r.cls.__name__}'s {', '.join(r.buffers)}" for r in ordered)
    comment = (
        f"Buffers computed in __init__ and not saved ({described}): from_pretrained builds the model on the meta "
        "device and leaves them empty, so a module built with the same arguments computes them again."
    )
    lines = [
        "def _init_weights(self, module):",
        "    super()._init_weights(module)",
        *(f"    # {line}" for line in textwrap.wrap(comment, LINE_LENGTH - 2 * _INDENT - 2)),
    ]
    for index, recomputation in enumerate(ordered):
        name = cst.Module([]).code_for_node(plan.names.reference(recomputation.cls, where))
        call = [
            f"        computed = {name}(",
            *(f"            {parameter}={source}," for parameter, source in recomputation.arguments),
            "        )",
        ]
        lines += [
            f"    {'elif' if index else 'if'} isinstance(module, {name}):",
            *(call if recomputation.arguments else [f"        computed = {name}()"]),
            *(f"        module.{buffer}.copy_(computed.{buffer})" for buffer in recomputation.buffers),
        ]
    method = cst.parse_statement("\n".join(lines) + "\n")
    return method.with_changes(leading_lines=[cst.EmptyLine(indent=False)])
