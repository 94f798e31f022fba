"""Plan the generated class of one module: which ``__init__`` to copy, and the edits for each of its children."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import libcst as cst
from torch import nn

from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.planning.children import plan_change, plan_child_class
from archit_codemod.declaration.planning.containers import plan_container
from archit_codemod.declaration.planning.context import Planning
from archit_codemod.declaration.planning.handed_down import hand_down, plan_handed_down
from archit_codemod.declaration.planning.library_calls import (
    attached_by,
    module_expression,
    modules_in,
    replay_statement,
)
from archit_codemod.declaration.planning.owner import OwnerEdits
from archit_codemod.declaration.planning.plan import AfterInit, Cause, ClassPlan, Instance
from archit_codemod.declaration.planning.statements import AssignmentStatements, written
from archit_codemod.declaration.planning.transformers_policy import class_members, instance_tie_edits
from archit_codemod.declaration.planning.walk import join
from archit_codemod.declaration.records import LibraryCall, SettingChange
from archit_codemod.declaration.sources.inline import InitCopy, inlining_problem
from archit_codemod.declaration.sources.locate import ClassSource
from archit_codemod.declaration.tracing.changes import Change, is_container


def plan_class(planning: Planning, module: nn.Module, instance: Instance) -> ClassPlan:
    """The plan of ``module``'s generated class (named later), its children's classes planned already."""
    path = instance.path
    source = planning.source(type(module))
    direct = planning.changes.get(id(module), {})
    names = list(module._modules) + [name for name in direct if name not in module._modules]
    copy = _init_copy(planning, module, source, names, direct, path)
    owner = OwnerEdits(planning, module, path, planning.statements(copy))
    for name in names:
        child_path = join(path, name)
        if name in direct:
            plan_change(owner, direct[name], child_path)
            continue
        child = module._modules[name]
        if child is None:
            continue
        if is_container(child):
            if planning.dirty(child):
                plan_container(owner, name, child, child_path)
            continue
        generated = planning.namer.plan_of(child)
        if generated is not None and not hand_down(owner, name, child, generated, child_path):
            plan_child_class(owner, name, child, generated, child_path)
    plan_handed_down(owner)
    for call in planning.replays.get(id(module), ()):
        attached = attached_by(call, planning.trace)
        replay = replay_statement(call, module, planning.renderer, owner.context(path), attached)
        owner.edits.append(AfterInit(replay.statement, _paths_received(call, module, path), replay.calls))
        owner.summary.append(f"{call.name}(...) after __init__")
        owner.causes.append(Cause(path, f"{call.filename}:{call.lineno}"))
    for child_path, change in planning.deferred.get(id(module), ()):
        statement = _replacement_statement(planning, owner, child_path, change, path)
        owner.edits.append(AfterInit(statement, (child_path,)))
        owner.summary.append(f"{child_path}: {type(change.new).__name__} after post_init")
        owner.causes.append(Cause(child_path, change.where))
    for setting in planning.settings.get(id(module), ()):
        statement = _setting_statement(planning, owner, setting, path)
        owner.edits.append(AfterInit(statement, (setting.path,)))
        owner.summary.append(_assignment_summary(statement))
        owner.causes.append(Cause(join(setting.path, setting.name), "the script"))
    tie_changes = planning.all_changes if planning.all_changes is not None else planning.changes
    members = class_members(module, path, tie_changes, _generated_of(planning), planning.warn)
    owner.edits.extend(instance_tie_edits(module, members, owner.statements))
    return ClassPlan(
        name="",
        original=type(module),
        init=copy,
        edits=tuple(owner.edits),
        members=members,
        summary=tuple(owner.summary),
        instances=(instance,),
        causes=tuple(owner.causes),
    )


def _generated_of(planning: Planning):
    def generated_of(module: nn.Module) -> tuple[type, str] | None:
        plan = planning.namer.plan_of(module)
        return (plan.original, plan.name) if plan is not None else None

    return generated_of


def _init_copy(
    planning: Planning,
    module: nn.Module,
    source: ClassSource,
    names: list[str],
    direct: dict[str, Change],
    path: str,
) -> InitCopy:
    """The ``__init__`` to copy: ``source``'s, with the ancestor bodies inlined that build a changed child.

    A child built by an ancestor's ``__init__`` (reached through ``super().__init__(...)``) can only be rewritten
    where it is built; see :mod:`archit_codemod.declaration.sources.inline`.
    """
    definers = [klass for klass in type(module).__mro__ if "__init__" in vars(klass)]
    definers = definers[definers.index(source.definer) :]
    deepest = 0
    for name in names:
        change = direct.get(name)
        if change is not None and change.kind == "add":
            continue
        old = change.old if change is not None else module._modules.get(name)
        if change is None and (old is None or not planning.dirty(old)):
            continue
        deepest = max(deepest, _builder_depth(planning, definers, name, old))
    for handed in planning.handed_down.get(id(module), ()):
        deepest = max(deepest, _builder_depth(planning, definers, "", handed.child))
    chain = [source]
    for depth in range(1, deepest + 1):
        try:
            callee = planning.source(definers[depth])
        except DeclarationError:
            break
        problem = inlining_problem(chain[-1], callee)
        if problem is not None:
            planning.warn(
                f"{path or '<root>'}: a changed child of {type(module).__qualname__} is built by "
                f"{callee.definer.__qualname__}.__init__, which the generated __init__ cannot inline ({problem})."
            )
            break
        chain.append(callee)
    return InitCopy(tuple(chain))


def _builder_depth(planning: Planning, definers: list[type], name: str, old: nn.Module | None) -> int:
    """Index in ``definers`` of the class whose ``__init__`` built ``old`` (0 when unknown)."""
    call = planning.call_of(old)
    built_in = Path(call.filename).resolve() if call is not None else None
    for depth, klass in enumerate(definers):
        if klass is nn.Module:
            break
        try:
            source = planning.source(klass)
        except DeclarationError:
            break
        if call is not None:
            if source.parsed.path != built_in:
                continue
            lines = source.positions[source.init_def]
            if lines.start.line <= call.lineno <= lines.end.line:
                return depth
        else:
            collector = AssignmentStatements(written(name, klass.__name__), source.self_name)
            source.init_def.visit(collector)
            if collector.found:
                return depth
    return 0


def _paths_received(call: LibraryCall, module: nn.Module, path: str) -> tuple[str, ...]:
    """The paths (from the root) of ``module``'s submodules that ``call`` received."""
    paths = {id(submodule): join(path, name) if name else path for name, submodule in module.named_modules()}
    received = modules_in([call.receiver, *call.arguments.values()])
    return tuple(dict.fromkeys(paths[id(found)] for found in received if id(found) in paths))


def _setting_statement(
    planning: Planning, owner: OwnerEdits, setting: SettingChange, path: str
) -> cst.SimpleStatementLine:
    """``self.encoder.layer[0].output.dropout.p = 0.0``: a setting the script changed, set again; instance state
    the same way (a method bound to the module refers to it by its path)."""
    module = owner.module.get_submodule(setting.path)
    context = dataclasses.replace(
        owner.context(join(path, setting.path)),
        references={id(module): module_expression(setting.path)},
        role="attribute",
    )
    value = planning.renderer.value(setting.value, context, setting.name)
    target = module_expression(join(setting.path, setting.name))
    return cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(target)], value)])


def _assignment_summary(statement: cst.SimpleStatementLine) -> str:
    """``pooler.forward = types.MethodType(scaled_forward, self.pooler)`` for the docstring: what is set, from
    the root, and the value as the statement writes it (shortened)."""
    code = cst.Module([]).code_for_node(statement).strip().removeprefix("self.")
    return code if len(code) <= 80 else code[:77] + "..."


def _replacement_statement(
    planning: Planning, owner: OwnerEdits, child_path: str, change: Change, path: str
) -> cst.SimpleStatementLine:
    """``self.cls.predictions.decoder = MLPHead(...)``: a replacement that ``post_init`` would change, made after it.

    The model's other modules, and the replaced one (a wrapper wraps it), are referred to by their paths: at that
    point the original ``__init__`` has built them all.
    """
    context = owner.context(join(path, child_path))
    inside_new = {id(sub) for sub in change.new.modules()}
    references = {
        id(sub): module_expression(join(path, sub_path))
        for sub_path, sub in owner.module.named_modules(remove_duplicate=False)
        if id(sub) not in inside_new
    }
    for sub_path, sub in change.old.named_modules():
        references.setdefault(id(sub), module_expression(join(child_path, sub_path)))
    context.references = references
    value = planning.renderer.module(change.new, context, child_path.rpartition(".")[2])
    return cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(module_expression(child_path))], value)])
