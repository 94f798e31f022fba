"""The comment lines that open every generated file: what made it, why each class exists, and not to edit it.

The change list names, for each generated class, the module paths it serves and the traced statements at or below
them that made it necessary, so that a reviewer of a pull request sees which change caused which class::

    #   model.bert.encoder.layer.{0,1}: BertLayer -> BertLayerModified (bert_lora.py:58,59)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import PurePath

from archit_codemod.declaration.checking.compare import path_and_ancestors
from archit_codemod.declaration.emitting.output import GENERATED_MARK
from archit_codemod.declaration.planning.plan import ClassPlan, Plan
from archit_codemod.declaration.provenance import ClassUse, Provenance, change_lines

__all__ = ["GENERATED_MARK", "change_comment", "change_list", "header_lines"]


def header_lines(
    script_path: PurePath | None, root_names: Sequence[str], changes: Sequence[str] = ()
) -> list[str]:
    """The comment that opens every generated module: what made it, from what, and why each class exists.

    ``changes`` are the lines of :func:`change_list`.
    """
    origin = f"the script {script_path}" if script_path is not None else "a traced Python session"
    roots = ", ".join(root_names) if root_names else "-"
    return [
        f"{GENERATED_MARK} from {origin} (root models: {roots}).",
        "# Each class subclasses the original and re-declares its __init__ with the traced modifications;",
        "# everything else is inherited. Regenerate instead of editing by hand.",
        *change_comment(changes),
    ]


def change_comment(changes: Sequence[str]) -> list[str]:
    """The header's list of where each generated class is used and which traced statement made it."""
    if not changes:
        return []
    return [
        "#",
        "# Where each class is used, and the traced statement that made it:",
        *(f"#   {change}" for change in changes),
    ]


def change_list(plan: Plan, listed: Iterable[ClassPlan] | None = None) -> list[str]:
    """One line per generated class of ``listed`` (default: every class of ``plan``), in the plan's order:
    ``paths: Original -> Generated (file:line, ...)``.

    A class's lines are the traced changes at or below any module it serves, whichever class declares them.
    """
    wanted = {id(class_plan) for class_plan in listed} if listed is not None else None
    provenance = plan.script.provenance
    at_or_below: dict[tuple[str, str], set[str]] = {}
    shown_as = {}
    for root, causes in _causes_by_root(plan).items():
        for path, where in causes:
            if where not in shown_as:
                shown_as[where] = _location(where, provenance)
            for ancestor in path_and_ancestors(path):
                at_or_below.setdefault((root, ancestor), set()).add(shown_as[where])
    uses: list[ClassUse] = []
    for class_plan in plan.classes:
        if wanted is not None and id(class_plan) not in wanted:
            continue
        for instance in class_plan.instances:
            locations = at_or_below.get((instance.root, instance.path), set())
            shown = ".".join(part for part in (instance.root, instance.path) if part) or "<root>"
            for location in sorted(locations, key=_line_order) or [""]:
                uses.append((shown, class_plan.original.__name__, class_plan.name, location))
    return change_lines(uses)


def _causes_by_root(plan: Plan) -> dict[str, list[tuple[str, str]]]:
    """Root name -> ``(changed path, "file:line")`` of every traced change a class of ``plan`` declares.

    A cause's path is relative to its root; a class that serves several roots gets its causes from the
    modules it serves, so each cause is attributed to the roots of the instances it lies under.
    """
    found: dict[str, list[tuple[str, str]]] = {}
    for class_plan in plan.classes:
        roots_at: dict[str, set[str]] = {}
        for instance in class_plan.instances:
            roots_at.setdefault(instance.path, set()).add(instance.root)
        for cause in class_plan.causes:
            roots = set().union(*(roots_at.get(path, ()) for path in path_and_ancestors(cause.path)))
            for root in sorted(roots):
                found.setdefault(root, []).append((cause.path, cause.where))
    return found


def _location(where: str, provenance: Provenance) -> str:
    """``file:line`` as the header shows it; "" for a change with no known statement (an inferred one)."""
    filename, _, line = where.rpartition(":")
    if not line.isdigit() or int(line) <= 0:
        return ""
    return provenance.location(filename, int(line))


def _line_order(location: str) -> tuple[str, int]:
    filename, _, line = location.rpartition(":")
    return (filename, int(line) if line.isdigit() else 0)
