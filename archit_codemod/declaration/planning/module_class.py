"""Plan the generated class of one module: which ``__init__`` to copy, and the edits for each of its children."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import libcst as cst
import torch
from torch import nn

from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.planning.children import plan_change, plan_child_class
from archit_codemod.declaration.planning.containers import plan_container
from archit_codemod.declaration.planning.context import AfterInitOfRoot, Planning
from archit_codemod.declaration.planning.handed_down import HandedDown, handed_down, plan_handed_down
from archit_codemod.declaration.planning.library_calls import (
    ModuleReferences,
    attached_by,
    module_expression,
    modules_in,
    replay_statement,
)
from archit_codemod.declaration.planning.owner import NOTHING, Decision, Owner
from archit_codemod.declaration.planning.plan import AfterInit, Cause, ClassPlan, Edit, Instance
from archit_codemod.declaration.planning.statements import AssignmentStatements, written
from archit_codemod.declaration.planning.transformers_policy import class_members, instance_tie_edits
from archit_codemod.declaration.planning.walk import join
from archit_codemod.declaration.records import LibraryCall, SettingChange
from archit_codemod.declaration.rendering.objects import held_tensors_device
from archit_codemod.declaration.rendering.written import AttributeSite, Written
from archit_codemod.declaration.sources.inline import InitCopy, inlining_problem
from archit_codemod.declaration.sources.locate import ClassSource
from archit_codemod.declaration.tracing.changes import Change, is_container


@dataclass(frozen=True)
class PlannedClass:
    """The plan of one module's generated class (named later), with what planning it told about other modules."""

    plan: ClassPlan
    handed_down: tuple[HandedDown, ...]
    """The children whose generated class the module that built them (an ancestor, planned later) must build."""
    warnings: tuple[str, ...]


def plan_class(
    planning: Planning, module: nn.Module, instance: Instance, handed_to_it: tuple[HandedDown, ...] = ()
) -> PlannedClass:
    """The plan of ``module``'s generated class, its children's classes planned already; ``handed_to_it`` are the
    children its ``__init__`` built and handed to their owners, whose generated classes it must build."""
    path = instance.path
    source = planning.source(type(module))
    direct = planning.changes.get(module, {})
    names = list(module._modules) + [name for name in direct if name not in module._modules]
    copy, not_inlined = _init_copy(planning, module, source, names, direct, path, handed_to_it)
    owner = Owner(planning, module, path, planning.statements(copy))
    decision = Decision(warnings=not_inlined)
    handed_up: list[HandedDown] = []
    for name in names:
        child_path = join(path, name)
        if name in direct:
            decision += plan_change(owner, direct[name], child_path)
            continue
        child = module._modules[name]
        if child is None:
            continue
        if is_container(child):
            if planning.dirty(child):
                decision += plan_container(owner, name, child, child_path)
            continue
        generated = planning.namer.plan_of(child)
        if generated is None:
            continue
        handed = handed_down(owner, name, child, generated, child_path)
        if handed is not None:
            handed_up.append(handed)
        else:
            decision += plan_child_class(owner, name, child, generated, child_path)
    decision += plan_handed_down(owner, handed_to_it)
    decision += _after_init(owner, planning.after_init.get(module, AfterInitOfRoot()))
    members = class_members(module, path, planning.tie_changes, planning.namer)
    edits = _each_once((*decision.edits, *instance_tie_edits(module, members, owner.statements)))
    plan = ClassPlan(
        name="",
        original=type(module),
        init=copy,
        edits=edits,
        members=members,
        summary=decision.summary,
        instances=(instance,),
        causes=decision.causes,
    )
    return PlannedClass(plan, tuple(handed_up), decision.warnings)


def _each_once(edits: tuple[Edit, ...]) -> tuple[Edit, ...]:
    """``edits`` without repeats (two containers of one owner swap the calls of the same item class)."""
    return tuple({edit.key: edit for edit in edits}.values())


def _after_init(owner: Owner, work: AfterInitOfRoot) -> Decision:
    """What the root's generated class does once its ``__init__`` is done: the library calls made again, the
    replacements ``post_init`` would change, the settings and attributes set again."""
    planning, module, path = owner.planning, owner.module, owner.path
    decision = NOTHING
    for call in work.replays:
        attached = attached_by(call, planning.trace)
        replay = replay_statement(call, module, planning.renderer, owner.context(path), attached)
        statement = _placed(
            owner, replay.statement, list(call.arguments.values()), f"{path}: {call.name}(...)"
        )
        edit = AfterInit(statement, _paths_received(call, module, path), replay.calls)
        cause = Cause(path, f"{call.filename}:{call.lineno}")
        decision += Decision((edit,), (f"{call.name}(...) after __init__",), (cause,))
    for child_path, change in work.deferred:
        statement = _replacement_statement(owner, child_path, change)
        summary = f"{child_path}: {type(change.new).__name__} after post_init"
        decision += Decision(
            (AfterInit(statement, (child_path,)),), (summary,), (Cause(child_path, change.where),)
        )
    by_path = _references_by_path(owner.module) if work.settings else {}
    for setting in work.settings:
        statement = _setting_statement(owner, setting, by_path)
        cause = Cause(join(setting.path, setting.name), "the script")
        decision += Decision(
            (AfterInit(statement, (setting.path,)),), (_assignment_summary(statement),), (cause,)
        )
    return decision


def _init_copy(
    planning: Planning,
    module: nn.Module,
    source: ClassSource,
    names: list[str],
    direct: dict[str, Change],
    path: str,
    handed_to_it: tuple[HandedDown, ...],
) -> tuple[InitCopy, tuple[str, ...]]:
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
    for handed in handed_to_it:
        deepest = max(deepest, _builder_depth(planning, definers, "", handed.child))
    chain = [source]
    for depth in range(1, deepest + 1):
        try:
            callee = planning.source(definers[depth])
        except DeclarationError:
            break
        problem = inlining_problem(chain[-1], callee)
        if problem is not None:
            warning = (
                f"{path or '<root>'}: a changed child of {type(module).__qualname__} is built by "
                f"{callee.definer.__qualname__}.__init__, which the generated __init__ cannot inline ({problem})."
            )
            return InitCopy(tuple(chain)), (warning,)
        chain.append(callee)
    return InitCopy(tuple(chain)), ()


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
    paths = {submodule: join(path, name) if name else path for name, submodule in module.named_modules()}
    received = modules_in([call.receiver, *call.arguments.values()])
    return tuple(dict.fromkeys(paths[found] for found in received if found in paths))


def _references_by_path(module: nn.Module) -> ModuleReferences:
    """Each module under ``module`` as ``self.<path>``: how a value set after ``__init__`` refers to it."""
    return ModuleReferences({sub: sub_path for sub_path, sub in module.named_modules(remove_duplicate=False)})


def _setting_statement(
    owner: Owner, setting: SettingChange, references: Mapping[nn.Module, cst.BaseExpression]
) -> cst.BaseStatement:
    """``self.encoder.layer[0].output.dropout.p = 0.0``: a setting the script changed, set again; instance state
    the same way (a method bound to the module refers to it by its path, one of ``references``), built on the
    device of the tensors it holds, if any."""
    module = owner.module.get_submodule(setting.path)
    context = dataclasses.replace(
        owner.context(join(owner.path, setting.path)),
        references=references,
        role="attribute",
        written=Written(AttributeSite(module, setting.name)),
    )
    value = owner.planning.renderer.value(setting.value, context, setting.name)
    target = module_expression(join(setting.path, setting.name))
    statement = cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(target)], value)])
    return _placed(owner, statement, [setting.value], f"{join(owner.path, setting.path)}.{setting.name}")


def _placed(owner: Owner, statement: cst.SimpleStatementLine, values: list, where: str) -> cst.BaseStatement:
    """``statement``, inside ``with torch.device(...)`` when the plain objects among ``values`` hold tensors of their
    own (a steering direction), on the device the traced ones are on: from_pretrained builds the model on meta,
    where they would hold nothing, and no checkpoint holds them."""
    devices = {device for value in values if (device := held_tensors_device(value)) is not None}
    if len(devices) != 1:
        return statement
    torch_name = owner.planning.renderer.names.reference(torch, where)
    device = cst.SimpleString(repr(str(devices.pop())))
    place = cst.Call(cst.Attribute(torch_name, cst.Name("device")), [cst.Arg(device)])
    return cst.With([cst.WithItem(place)], cst.IndentedBlock([statement]))


def _assignment_summary(statement: cst.BaseStatement) -> str:
    """``pooler.forward = types.MethodType(scaled_forward, self.pooler)`` for the docstring: what is set, from
    the root, and the value as the statement writes it (shortened)."""
    if isinstance(statement, cst.With):
        statement = statement.body.body[0]
    code = cst.Module([]).code_for_node(statement).strip().removeprefix("self.")
    return code if len(code) <= 80 else code[:77] + "..."


def _replacement_statement(owner: Owner, child_path: str, change: Change) -> cst.SimpleStatementLine:
    """``self.cls.predictions.decoder = MLPHead(...)``: a replacement that ``post_init`` would change, made after it.

    The model's other modules, and the replaced one (a wrapper wraps it), are referred to by their paths: at that
    point the original ``__init__`` has built them all.
    """
    inside_new = set(change.new.modules())
    references = {
        sub: module_expression(join(owner.path, sub_path))
        for sub_path, sub in owner.module.named_modules(remove_duplicate=False)
        if sub not in inside_new
    }
    for sub_path, sub in change.old.named_modules():
        references.setdefault(sub, module_expression(join(child_path, sub_path)))
    context = dataclasses.replace(owner.context(join(owner.path, child_path)), references=references)
    value = owner.planning.renderer.module(change.new, context, child_path.rpartition(".")[2])
    return cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(module_expression(child_path))], value)])
