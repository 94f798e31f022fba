"""Decide which classes get a generated version and build each one's ``ClassDef``.

Walking each root bottom-up, a module needs a generated class when one of its own children changed or
when a child's class got a generated version. The generated ``ClassDef`` is the original ``__init__``
(of the class in the MRO that defines it) with only the affected statements rewritten. Instances whose
generated code comes out identical share one class (every layer with the same LoRA wrappers is one
``BertSelfAttentionModified``); the same class changed differently at different places gets numbered
classes (``...Modified``, ``...Modified2``).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libcst as cst
import libcst.matchers as m
from libcst.metadata import MetadataWrapper, ScopeProvider
from torch import nn

from archit_codemod.declaration.changes import Change, is_container, net_changes
from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.inline import InitCopy, inlining_problem
from archit_codemod.declaration.layout import LayoutRewritten, layout_statement, original_statements
from archit_codemod.declaration.locate import ClassSource, locate_class
from archit_codemod.declaration.names import NameTable, free_names
from archit_codemod.declaration.records import Trace
from archit_codemod.declaration.render import (
    OriginalArgument,
    RenderContext,
    Renderer,
    builtin_constructor,
    parameter_sizes,
)
from archit_codemod.declaration.rewrite import (
    AssignmentStatements,
    InsertBeforePostInit,
    RemoveAttributeAssignment,
    ReplaceAttributeValue,
    ReplaceLocalValue,
    SuperCallRewriter,
    SwapCallee,
    UnmangleNames,
    count_reads,
    rewrite_container,
    written,
)
from archit_codemod.declaration.stages import stage

_PRIMITIVES = (bool, int, float, str, bytes, type(None))
_CLASS_INDENT = 4
"""Indentation of a generated class's body."""


@dataclass(eq=False)
class GeneratedClass:
    """One class of the output: ``class <name>(<original>)`` with a rewritten copy of ``__init__``."""

    name: str
    original: type
    source: ClassSource
    class_def: cst.ClassDef
    instances: list[tuple[str, nn.Module]] = field(default_factory=list)
    init_copy: InitCopy | None = None
    """Where the copied ``__init__`` comes from: ``source``'s, with the ancestor bodies it inlines."""


@dataclass
class _InitEdit:
    """The ``__init__`` being rewritten for one instance, and what goes around it."""

    copy: InitCopy
    function: cst.FunctionDef
    """The copy being rewritten (``super()`` already naming its class, private names unmangled)."""
    raw: cst.FunctionDef
    """The copy as written: its statements are the parsed originals, whose source lines are known."""
    appended: list[cst.BaseStatement] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)

    def statements_assigning(self, name: str) -> list[cst.CSTNode]:
        """The statements of :attr:`raw` that assign ``self.<name>``, numbered as ``ReplaceAttributeValue`` does."""
        spellings = {name} | {written(name, source.definer.__name__) for source in self.copy.fragments}
        collector = AssignmentStatements(sorted(spellings), self.copy.fragments[0].self_name)
        self.raw.visit(collector)
        return collector.found


class Planner:
    """Plan the generated classes for the roots of one trace (see the module docstring)."""

    def __init__(self, trace: Trace, names: NameTable, *, suffix: str = "Modified"):
        if not suffix.isidentifier():
            raise DeclarationError(f"The suffix {suffix!r} is not a valid part of a Python class name.")
        self.trace = trace
        self.names = names
        self.suffix = suffix
        self.changes = net_changes(trace)
        self.renderer = Renderer(names, self.render_module)
        self.generated: list[GeneratedClass] = []
        self.warnings: list[str] = []
        self._by_code: dict[tuple[type, str], GeneratedClass] = {}
        self._of_instance: dict[int, GeneratedClass | None] = {}
        self._dirty: dict[int, bool] = {}
        self._sources: dict[type, ClassSource] = {}

    # -- entry points -------------------------------------------------------------------------------------

    def class_for(self, module: nn.Module, path: str) -> GeneratedClass | None:
        """The generated class ``module`` needs (``None`` when nothing in its subtree changed)."""
        key = id(module)
        if not path and key not in self._of_instance:
            self._refuse_shared_modules(module)
        if key in self._of_instance:
            generated = self._of_instance[key]
            if generated is not None and all(instance is not module for _, instance in generated.instances):
                generated.instances.append((path, module))
            return generated
        if not self.is_dirty(module):
            self._of_instance[key] = None
            return None
        if is_container(module):
            raise DeclarationError(
                f"{path or '<root>'}: items of this {type(module).__name__} changed after it was built, and no "
                "class's __init__ builds it (it is a root, or a module the script built). Fix: build the container "
                "with all of its items at once (nn.Sequential(a, b)), or make it a child of an nn.Module subclass "
                "and modify that model instead."
            )
        self._of_instance[key] = None  # a module reachable from itself must not recurse forever
        with stage("planning", path=path):
            generated = self._build(module, path)
        self._of_instance[key] = generated
        return generated

    def _refuse_shared_modules(self, root: nn.Module) -> None:
        """Refuse a changed module that is reachable at two paths of ``root`` (a module object shared by two owners).

        Generated ``__init__`` methods build each attribute with a call of its own, so declaring a shared
        module would silently give two modules with separate weights.
        """
        paths: dict[int, list[str]] = {}
        for sub_path, sub in root.named_modules(remove_duplicate=False):
            paths.setdefault(id(sub), []).append(sub_path or "<root>")
        for owner_changes in self.changes.values():
            for change in owner_changes.values():
                if change.new is None or id(change.new) not in paths:
                    continue
                for inner in change.new.modules():
                    where = paths.get(id(inner), [])
                    if len(where) > 1 and _declared_as_tied(root, inner, where):
                        # BART's set_input_embeddings shares one module as shared/encoder/decoder embeddings;
                        # the model's own code ties their weights, so separate modules with tied weights are
                        # the same model (verification checks that the weights are shared).
                        self.warnings.append(
                            f"{', '.join(where)} are one {type(inner).__qualname__} object in the traced model; "
                            "the generated classes build one module per path, whose weights the model's classes tie "
                            "(_tied_weights_keys)."
                        )
                        continue
                    if len(where) > 1:
                        raise DeclarationError(
                            f"{where[0]} and {where[1]} are the same {type(inner).__qualname__} object (a module shared "
                            f"by two owners; the change was made at {change.where}). The generated __init__ methods "
                            "build each attribute with a constructor call of its own, so they would build two "
                            "modules with separate weights. Fix: give each owner a module of its own (copy.deepcopy), "
                            "or share the weights in the model's code (tied weights)."
                        )

    def is_dirty(self, module: nn.Module) -> bool:
        """Whether ``module`` or anything below it changed."""
        key = id(module)
        if key not in self._dirty:
            self._dirty[key] = False  # cycles
            self._dirty[key] = key in self.changes or any(
                child is not None and self.is_dirty(child) for child in module._modules.values()
            )
        return self._dirty[key]

    # -- building one class -------------------------------------------------------------------------------

    def _source(self, cls: type) -> ClassSource:
        if cls not in self._sources:
            self._sources[cls] = locate_class(
                cls,
                script_module_name=self.trace.script_module_name,
                script_path=Path(self.trace.script_path) if self.trace.script_path else None,
                script_namespace=self.trace.namespace,
            )
        return self._sources[cls]

    def _build(self, module: nn.Module, path: str) -> GeneratedClass:
        cls = type(module)
        source = self._source(cls)
        self_name = source.self_name
        direct = self.changes.get(id(module), {})
        names = list(module._modules) + [name for name in direct if name not in module._modules]
        copy = self._init_copy(module, source, names, direct, path)
        edit = _InitEdit(copy, copy.function(_prepare), copy.function())
        for name in names:
            child_path = _join(path, name)
            if name in direct:
                self._apply_change(edit, module, direct[name], child_path)
                continue
            child = module._modules[name]
            if child is None:
                continue
            if is_container(child):
                if self.is_dirty(child):
                    self._apply_container(edit, module, name, child, child_path)
                continue
            generated = self.class_for(child, child_path)
            if generated is not None:
                self._apply_child_class(edit, module, name, child, generated, child_path)
        if edit.appended:
            edit.function = edit.function.visit(InsertBeforePostInit(edit.appended, self_name))
        class_def = self._class_def(module, path, source, edit)
        code_key = (cls, cst.Module([]).code_for_node(class_def))
        if code_key in self._by_code:
            generated = self._by_code[code_key]
            generated.instances.append((path, module))
            return generated
        name = self._fresh_name(cls.__name__)
        class_def = class_def.with_changes(name=cst.Name(name))
        generated = GeneratedClass(name, cls, source, class_def, [(path, module)], copy)
        self._by_code[code_key] = generated
        self._bind_free_names(generated)
        self.generated.append(generated)
        return generated

    def _fresh_name(self, base: str) -> str:
        name = f"{base}{self.suffix}"
        number = 2
        while self.names.is_taken(name):
            name = f"{base}{self.suffix}{number}"
            number += 1
        self.names.reserve_local(name)
        return name

    def _init_copy(
        self, module: nn.Module, source: ClassSource, names: list[str], direct: dict[str, Change], path: str
    ) -> InitCopy:
        """The ``__init__`` to copy: ``source``'s, with the ancestor bodies inlined that build a changed child.

        A child built by an ancestor's ``__init__`` (reached through ``super().__init__(...)``) can only be
        rewritten where it is built; see :mod:`archit_codemod.declaration.inline`.
        """
        definers = [klass for klass in type(module).__mro__ if "__init__" in vars(klass)]
        definers = definers[definers.index(source.definer) :]
        deepest = 0
        for name in names:
            change = direct.get(name)
            if change is not None and change.kind == "add":
                continue
            old = change.old if change is not None else module._modules.get(name)
            if change is None and (old is None or not self.is_dirty(old)):
                continue
            deepest = max(deepest, self._builder_depth(definers, name, old))
        chain = [source]
        for depth in range(1, deepest + 1):
            try:
                callee = self._source(definers[depth])
            except DeclarationError:
                break
            problem = inlining_problem(chain[-1], callee)
            if problem is not None:
                self.warnings.append(
                    f"{path or '<root>'}: a changed child of {type(module).__qualname__} is built by "
                    f"{callee.definer.__qualname__}.__init__, which the generated __init__ cannot inline ({problem})."
                )
                break
            chain.append(callee)
        return InitCopy(tuple(chain))

    def _builder_depth(self, definers: list[type], name: str, old: nn.Module | None) -> int:
        """Index in ``definers`` of the class whose ``__init__`` built ``old`` (0 when unknown)."""
        call = self.trace.call_of(old) if old is not None else None
        built_in = Path(call.filename).resolve() if call is not None else None
        for depth, klass in enumerate(definers):
            if klass is nn.Module:
                break
            try:
                source = self._source(klass)
            except DeclarationError:
                break
            if call is not None:
                if source.parsed.path != built_in:
                    continue
                lines = source.parsed.positions[source.init_def]
                if lines.start.line <= call.lineno <= lines.end.line:
                    return depth
            else:
                collector = AssignmentStatements(written(name, klass.__name__), source.self_name)
                source.init_def.visit(collector)
                if collector.found:
                    return depth
        return 0

    def _bind_free_names(self, generated: GeneratedClass) -> None:
        """Bind every global the generated class reads as the file it was copied from binds it."""
        fragments = generated.init_copy.fragments if generated.init_copy is not None else (generated.source,)
        reads = [(fragment, free_names(fragment.init_def)) for fragment in fragments]
        where = f"{generated.name} (copy of {generated.source.definer.__qualname__}.__init__)"
        for name in sorted(free_names(generated.class_def)):
            if name in self.names.local:
                continue
            readers = [fragment for fragment, names in reads if name in names]
            readers = readers or [fragment for fragment in fragments if fragment.definer.__name__ == name]
            if not readers:
                parsed = fragments[0].parsed
                bound_in_source = any(a.scope is parsed.global_scope for a in parsed.global_scope[name])
                if self.names.is_taken(name) and not bound_in_source:
                    continue  # introduced by rendering, bound already
                readers = [fragments[0]]
            for fragment in readers:
                self.names.require_name(name, fragment.parsed, where)

    def _class_def(self, module: nn.Module, path: str, source: ClassSource, edit: _InitEdit) -> cst.ClassDef:
        cls = type(module)
        base = self.names.reference(cls, f"the generated subclass of {cls.__qualname__}")
        changes = "; ".join(edit.summary) if edit.summary else "no direct change"
        docstring = f'"""{cls.__name__} with {changes}. Generated by archit_codemod."""'
        body: list[cst.BaseStatement] = [cst.parse_statement(docstring)]
        tie_statements, tie_methods = self._tie_overrides(module, path)
        body += tie_statements
        body += self._no_split_override(module)
        body = [
            layout_statement(s, _CLASS_INDENT) if isinstance(s, cst.SimpleStatementLine) else s for s in body
        ]
        originals = original_statements(fragment.init_def for fragment in edit.copy.fragments)
        function = edit.function.visit(LayoutRewritten(originals, indent=_CLASS_INDENT))
        function = function.with_changes(
            leading_lines=[cst.EmptyLine(indent=False)]
            + [line for line in edit.function.leading_lines if line.comment]
        )
        body.append(function)
        body += tie_methods
        return cst.ClassDef(
            name=cst.Name(f"{cls.__name__}{self.suffix}"),
            bases=[cst.Arg(base)],
            body=cst.IndentedBlock(body),
            leading_lines=[cst.EmptyLine(), cst.EmptyLine()],
        )

    # -- one affected attribute ---------------------------------------------------------------------------

    def _source_for(self, edit: _InitEdit, name: str, module: nn.Module | None) -> ClassSource:
        """The class whose ``__init__`` (copied or inlined) builds ``self.<name>``: its globals resolve the callees."""
        found = edit.statements_assigning(name)
        only = self.built_by(edit, name, module)
        chosen = [statement for index, statement in enumerate(found) if only is None or index in only]
        for statement in chosen:
            source = edit.copy.fragment_of(statement)
            if source is not None:
                return source
        return edit.copy.fragments[0]

    def _apply_change(self, edit: _InitEdit, owner: nn.Module, change: Change, path: str) -> None:
        source = self._source_for(edit, change.name, change.old)
        self_name = source.self_name
        name = change.name
        if change.kind == "add":
            if change.new is None:
                return
            value = self.render_module(change.new, self.context(owner, path), name)
            edit.appended.append(_assignment(self_name, name, value))
            edit.summary.append(f"{name} added")
            self.warnings.append(
                f"{path} ({type(change.new).__name__}) is a new attribute of {type(owner).__qualname__}, set at "
                f"{change.where}: the generated class builds it, but the inherited forward does not use it."
            )
            return
        if change.kind == "delete":
            self._apply_delete(edit, owner, source, name, path)
            edit.summary.append(f"{name} deleted")
            return
        if change.new is None:
            rewriter = ReplaceAttributeValue(name, lambda _: cst.Name("None"), self_name)
            fallback: Callable[[], cst.BaseExpression] = lambda: cst.Name("None")  # noqa: E731
            edit.summary.append(f"{name} = None")
        elif change.old is not None and _mutates_child(edit.function, self_name, name):
            # `self.qkv.bias = nn.Parameter(...)` after `self.qkv = nn.Linear(...)` (BLIP-2) changed the
            # original module, before the script replaced it: build the original as written, let the body
            # finish with it, then replace it, as the traced run did (a wrapper wraps `self.qkv`).
            reference = cst.parse_expression(f"{self_name}.{name}")
            context = self.replacing_context(owner, path, change.old, reference, source, change.new)
            edit.appended.append(_assignment(self_name, name, self.render_module(change.new, context, name)))
            edit.summary.append(f"{name}: {type(change.new).__name__}")
            return
        else:

            def replacement(original: cst.BaseExpression) -> cst.BaseExpression:
                context = self.replacing_context(owner, path, change.old, original, source, change.new)
                return self.render_module(change.new, context, name)

            only = self.built_by(edit, name, change.old)
            rewriter = ReplaceAttributeValue(name, replacement, self_name, only)
            fallback = lambda: self.render_module(change.new, self.context(owner, path), name)  # noqa: E731
            edit.summary.append(f"{name}: {type(change.new).__name__}")
        edit.function = edit.function.visit(rewriter)
        if rewriter.rewritten == 0:
            edit.appended.append(_assignment(self_name, name, fallback()))
            self.warnings.append(_out_of_sight(path, edit, name))

    def _apply_delete(
        self, edit: _InitEdit, owner: nn.Module, source: ClassSource, name: str, path: str
    ) -> None:
        self_name = source.self_name
        if count_reads(edit.function, name, self_name) == 0:
            remover = RemoveAttributeAssignment(name, self_name)
            edit.function = edit.function.visit(remover)
            if remover.removed:
                return
        edit.appended.append(cst.parse_statement(f"del {self_name}.{name}"))
        self.warnings.append(
            f"{path}: {source.definer.__qualname__}.__init__ uses self.{name} or sets it out of sight, so the "
            f"generated __init__ builds it as before and deletes it at the end."
        )

    def _apply_child_class(
        self,
        edit: _InitEdit,
        owner: nn.Module,
        name: str,
        child: nn.Module,
        generated: GeneratedClass,
        path: str,
    ) -> None:
        """The child's own class got a generated version: swap the callee, keep the arguments."""
        source = self._source_for(edit, name, child)
        self_name = source.self_name
        edit.summary.append(f"{name}: {generated.name}")
        only = self.built_by(edit, name, child)
        if self._rewrite_alias(edit, name, only, child, generated, source, path):
            return

        def swapped(original: cst.BaseExpression) -> cst.BaseExpression:
            return self.swap_class(original, child, generated, source, self.context(owner, path), name)

        rewriter = ReplaceAttributeValue(name, swapped, self_name, only)
        edit.function = edit.function.visit(rewriter)
        if rewriter.rewritten == 0:
            value = self.recorded_call(child, generated, self.context(owner, path), name)
            edit.appended.append(_assignment(self_name, name, value))
            self.warnings.append(_out_of_sight(path, edit, name))

    def _rewrite_alias(
        self,
        edit: _InitEdit,
        name: str,
        only: set[int] | None,
        child: nn.Module,
        generated: GeneratedClass,
        source: ClassSource,
        path: str,
    ) -> bool:
        """Swap the class where a local alias of it is defined; whether it was done.

        ``attention_class = BertCrossAttention if is_cross_attention else BertSelfAttention`` followed by
        ``self.self = attention_class(config, ...)``: the branch naming the child's class is rewritten, the
        assignment of ``self.self`` stays as written. Only a local assigned once, from a class name or a
        conditional expression of class names, and called once, is followed.
        """
        statements = [s for i, s in enumerate(edit.statements_assigning(name)) if only is None or i in only]
        if len(statements) != 1:
            return False
        value = statements[0].value
        local_calls = [
            call
            for call in m.findall(value, m.Call(func=m.Name()))
            if call.func.value not in source.namespace and not _resolves_to(call.func, type(child), source)
        ]
        recorded = self.trace.call_of(child)
        if recorded is not None:
            local_calls = [c for c in local_calls if _has_shape(c, recorded.args, recorded.kwargs)]
        if len(local_calls) != 1:
            return False
        alias = local_calls[0].func.value
        definition = _single_local_definition(edit.function, alias)
        if definition is None:
            return False
        swapped = _swap_class_names(
            definition, lambda callee: _resolves_to(callee, type(child), source), generated.name
        )
        if swapped is None:
            return False
        rewriter = ReplaceLocalValue(alias, lambda _: swapped)
        edit.function = edit.function.visit(rewriter)
        return rewriter.rewritten == 1

    def _apply_container(
        self,
        edit: _InitEdit,
        owner: nn.Module,
        name: str,
        container: nn.Module,
        path: str,
    ) -> None:
        """Items of a ModuleList/Sequential/ModuleDict changed: rewrite the container's construction."""
        source = self._source_for(edit, name, container)
        item_changes = self.changes.get(id(container), {})
        layout = _container_layout(container, item_changes, path)
        planned: dict[str, Change | GeneratedClass] = {}
        for key, item in container._modules.items():
            if key in item_changes:
                planned[key] = item_changes[key]
            elif item is not None and is_container(item):
                if self.is_dirty(item):
                    raise DeclarationError(
                        f"{_join(path, key)}: items of a {type(item).__name__} nested in the {type(container).__name__} "
                        f"{path} changed; the codemod cannot declare changes inside nested containers. "
                        "Fix: replace the inner container as a whole (owner.attribute[i] = nn.ModuleList([...]))."
                    )
            elif item is not None:
                generated = self.class_for(item, _join(path, key))
                if generated is not None:
                    planned[key] = generated
        if not planned and not layout.dropped and not layout.removed_keys:
            return

        def item_expression(key: str, original: cst.BaseExpression | None) -> cst.BaseExpression:
            item_path = _join(path, key)
            plan = planned.get(key)
            if plan is None:
                return original
            argument = f"{name}[{key}]"
            if isinstance(plan, GeneratedClass):
                context = self.context(owner, item_path)
                item = container._modules[key]
                if original is None:
                    return self.recorded_call(item, plan, context, argument)
                return self.swap_class(original, item, plan, source, context, argument)
            if original is None or plan.kind == "add":
                return self.render_module(plan.new, self.context(owner, item_path), argument)
            context = self.replacing_context(owner, item_path, plan.old, original, source, plan.new)
            return self.render_module(plan.new, context, argument)

        appended = [item_expression(key, None) for key in layout.appended_keys]

        def rewrite(original: cst.BaseExpression) -> cst.BaseExpression | None:
            return rewrite_container(
                original,
                layout.kept_keys,
                item_expression,
                appended=appended,
                dropped=layout.dropped,
                removed_keys=layout.removed_keys,
                appended_keys=layout.appended_keys if isinstance(container, nn.ModuleDict) else (),
            )

        rewriter = ReplaceAttributeValue(
            name, rewrite, source.self_name, self.built_by(edit, name, container)
        )
        edit.function = edit.function.visit(rewriter)
        keys_of: dict[str, list[str]] = {}
        for key, plan in planned.items():
            if plan is not None and not isinstance(plan, GeneratedClass) and plan.kind == "add":
                shown = f"{type(plan.new).__name__} added"
            else:
                shown = plan.name if isinstance(plan, GeneratedClass) else type(plan.new).__name__
            keys_of.setdefault(shown, []).append(key)
        for shown, shown_keys in keys_of.items():
            index = "*" if len(shown_keys) == len(container._modules) else ", ".join(shown_keys)
            edit.summary.append(f"{name}[{index}]: {shown}")
        removed = [*layout.removed_keys, *(str(len(layout.kept_keys) + i) for i in range(layout.dropped))]
        if removed:
            edit.summary.append(f"{name}[{', '.join(removed)}] deleted")
        if rewriter.rewritten:
            return
        if not (
            layout.dropped or layout.removed_keys or layout.appended_keys
        ) and self._rewrite_appended_items(edit, name, container, planned, source):
            return
        if layout.dropped or layout.removed_keys or layout.appended_keys:
            raise DeclarationError(
                f"{path}: items were added to or deleted from this {type(container).__name__}, but "
                f"{source.definer.__qualname__}.__init__ does not build self.{name} as a list, a list comprehension "
                "or a dict the codemod can extend. Fix: replace the container as a whole "
                "(owner.attribute = nn.ModuleList([...])) in the script."
            )
        for key in planned:
            index = key if key.isdigit() and not isinstance(container, nn.ModuleDict) else json.dumps(key)
            value = item_expression(key, None)
            target = cst.parse_expression(f"{source.self_name}.{name}[{index}]")
            edit.appended.append(cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(target)], value)]))
        self.warnings.append(
            f"{path}: the codemod cannot rewrite how {source.definer.__qualname__}.__init__ builds self.{name}; "
            "the generated __init__ replaces the changed items after the original body instead."
        )

    def _rewrite_appended_items(
        self,
        edit: _InitEdit,
        name: str,
        container: nn.Module,
        planned: dict[str, Change | GeneratedClass],
        source: ClassSource,
    ) -> bool:
        """``items = []; for ...: items.append(Layer(...)); self.<name> = nn.ModuleList(items)`` (FalconH1):
        when every item gets the same generated class, swap the callee inside the one ``append`` call.

        Returns whether it did; anything else (some items unchanged, a replaced item, a callee that is not the
        class by name) is left to the caller.
        """
        plans = [planned.get(key) for key in container._modules]
        if not plans or not all(isinstance(plan, GeneratedClass) for plan in plans):
            return False
        generated = plans[0]
        if any(plan is not generated for plan in plans):
            return False
        self_name = source.self_name
        built = m.Assign(
            targets=[m.AssignTarget(m.Attribute(value=m.Name(self_name), attr=m.Name(name)))],
            value=m.Call(args=[m.Arg(value=m.Name(), keyword=None, star="")]),
        )
        assignments = m.findall(edit.function, built)
        if len(assignments) != 1:
            return False
        items = assignments[0].value.args[0].value.value
        appends = m.findall(
            edit.function,
            m.Call(func=m.Attribute(value=m.Name(items), attr=m.Name("append")), args=[m.Arg()]),
        )
        if len(appends) != 1:
            return False
        child_class = type(next(iter(container._modules.values())))
        swapper = SwapCallee(
            lambda callee: _resolves_to(callee, child_class, source), cst.Name(generated.name)
        )
        element = appends[0].args[0].value
        swapped = element.visit(swapper)
        if swapper.swapped != 1:
            return False
        edit.function = edit.function.deep_replace(element, swapped)
        return True

    def built_by(self, edit: _InitEdit, name: str, module: nn.Module | None) -> set[int] | None:
        """Which assignments of ``self.<name>`` (numbered in source order) built ``module``.

        The tracer recorded the line of ``module``'s constructor call; only the statement containing that
        line is rewritten (``if``/``else`` branches that did not run stay as written). ``None`` (rewrite every
        assignment) when the line is unknown or in another file.
        """
        call = self.trace.call_of(module) if module is not None else None
        if call is None:
            return None
        filename = Path(call.filename).resolve()
        found = set()
        for index, statement in enumerate(edit.statements_assigning(name)):
            lines = edit.copy.lines_of(statement)
            if lines is not None and lines[0] == filename and lines[1] <= call.lineno <= lines[2]:
                found.add(index)
        return found or None

    # -- rendering ----------------------------------------------------------------------------------------

    def context(self, owner: nn.Module, path: str) -> RenderContext:
        """What an expression inside ``owner``'s ``__init__`` can refer to: the parameters of that ``__init__``."""
        parameters: list[tuple[Any, str]] = []
        call = self.trace.call_of(owner)
        bound = call.bound() if call is not None else None
        if bound is not None:
            signature = bound.signature.parameters
            for parameter, value in bound.arguments.items():
                kind = signature[parameter].kind
                if kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
                    continue
                if not isinstance(value, _PRIMITIVES):
                    parameters.append((value, parameter))
        else:
            # No recorded call (the model was built before tracing): the config is the usual argument.
            config = getattr(owner, "config", None)
            try:
                signature = inspect.signature(type(owner)).parameters
            except (TypeError, ValueError):
                signature = {}
            if config is not None and "config" in signature:
                parameters.append((config, "config"))
        return RenderContext(path=path, owner=type(owner).__qualname__, parameters=parameters)

    def replacing_context(
        self,
        owner: nn.Module,
        path: str,
        old: nn.Module | None,
        original: cst.BaseExpression,
        source: ClassSource,
        new: nn.Module | None = None,
    ) -> RenderContext:
        """The context of replacing ``old`` (built by ``original`` in ``owner``'s ``__init__``) by ``new``."""
        context = self.context(owner, path)
        if old is None:
            return context
        call = _find_call_of(original, type(old), source)
        context.replaced = old
        context.replaced_expression = call if call is not None else original
        context.replacement = new
        if call is not None and new is not None and not self._wraps(new, old):
            # A wrapper gets its sizes from the module it wraps; matching its other arguments (r=32) to the
            # wrapped module's sizes (hidden_size=32) would only find coincidences.
            context.original_arguments = self._original_arguments(old, call)
            context.replaced_sizes = parameter_sizes(old)
        return context

    def _wraps(self, new: nn.Module | None, old: nn.Module) -> bool:
        """Whether ``new`` was built with ``old`` as one of its arguments."""
        call = self.trace.call_of(new) if new is not None else None
        if call is None:
            return False
        return any(value is old for value in [*call.args, *call.kwargs.values()])

    def _original_arguments(self, old: nn.Module, call: cst.Call) -> list[OriginalArgument]:
        """Each argument ``old`` was built with: parameter, position, live value and source expression."""
        if any(arg.star for arg in call.args):
            return []
        positional = [arg.value for arg in call.args if arg.keyword is None]
        try:
            signature = inspect.signature(type(old))
            nodes = signature.bind_partial(
                *positional, **{arg.keyword.value: arg.value for arg in call.args if arg.keyword is not None}
            ).arguments
        except (TypeError, ValueError):
            return []
        recorded = self.trace.call_of(old)
        bound = recorded.bound() if recorded is not None else None
        values = dict(bound.arguments) if bound is not None else {}
        found = []
        for parameter, node in nodes.items():
            if not isinstance(node, cst.BaseExpression):
                continue
            if parameter in values:
                value = values[parameter]
            elif hasattr(old, parameter):
                value = getattr(old, parameter)
            else:
                continue
            if type(value) in (bool, int, float, str):
                position = next((i for i, passed in enumerate(positional) if passed is node), None)
                found.append(OriginalArgument(parameter, position, value, node))
        return found

    def render_module(self, module: nn.Module, context: RenderContext, argument: str) -> cst.BaseExpression:
        """The constructor call that builds ``module`` (with its generated class if it changed after)."""
        generated = self.class_for(module, context.path) if self.is_dirty(module) else None
        call = self.trace.call_of(module)
        if call is not None or generated is not None:
            with stage("rendering", path=context.path):
                return self.recorded_call(module, generated, context, argument)
        built_in = builtin_constructor(module)
        if built_in is None:
            raise DeclarationError(
                f"Cannot declare {context.path or '<root>'} (in {context.owner}): argument {argument!r} is a "
                f"{type(module).__qualname__} built without tracing, so its constructor arguments are unknown. "
                "Fix: run the script under `python -m archit_codemod SCRIPT`, or build and modify the model inside "
                "`with archit_codemod.declaration.tracer.trace():`."
            )
        args, kwargs = built_in
        callee = self.names.reference(type(module), f"{context.path} (in {context.owner})")
        sizes = parameter_sizes(module) if context.original_arguments else None
        return self.renderer.call(callee, args, kwargs, context, type(module), sizes=sizes)

    def recorded_call(
        self, module: nn.Module, generated: GeneratedClass | None, context: RenderContext, argument: str
    ) -> cst.BaseExpression:
        """``module``'s recorded constructor call, with ``generated``'s name as callee when given."""
        call = self.trace.call_of(module)
        if call is None:
            raise DeclarationError(
                f"Cannot declare {context.path or '<root>'} (in {context.owner}): {type(module).__qualname__} "
                f"(argument {argument!r}) was built without tracing, so its constructor arguments are unknown. "
                "Fix: run the script under `python -m archit_codemod SCRIPT`, or build and modify the model inside "
                "`with archit_codemod.declaration.tracer.trace():`."
            )
        if call.cls is not type(module):
            raise DeclarationError(
                f"{context.path}: the module was built as {call.cls.__qualname__} but is now a "
                f"{type(module).__qualname__} (its __class__ was changed); the codemod cannot declare that."
            )
        if generated is not None:
            callee: cst.BaseExpression = cst.Name(generated.name)
        else:
            callee = self.names.reference(call.cls, f"{context.path} (in {context.owner})")
        # The replacement's arguments, and those of the modules built for it (nn.Sequential(nn.Dropout(0.1),
        # nn.Linear(16, 4)) replacing nn.Linear(dim, num_classes)), may stand for the replaced module's.
        sizes = parameter_sizes(module) if context.original_arguments else None
        return self.renderer.call(callee, call.args, call.kwargs, context, call.cls, sizes=sizes)

    def swap_class(
        self,
        original: cst.BaseExpression,
        child: nn.Module,
        generated: GeneratedClass,
        source: ClassSource,
        context: RenderContext,
        argument: str,
    ) -> cst.BaseExpression:
        """``original`` with calls of ``type(child)`` calling ``generated`` instead; the recorded call otherwise."""
        swapper = SwapCallee(
            lambda callee: _resolves_to(callee, type(child), source), cst.Name(generated.name)
        )
        swapped = original.visit(swapper)
        if swapper.swapped:
            return swapped
        # The callee is not the class by name (`attention_class(config, ...)`, a local chosen by a test): the
        # one call whose arguments have the shape the tracer recorded is the call that built the child.
        call = self.trace.call_of(child)
        if call is not None:
            shaped = [c for c in m.findall(original, m.Call()) if _has_shape(c, call.args, call.kwargs)]
            if len(shaped) == 1:
                target = shaped[0].func
                swapper = SwapCallee(lambda callee: callee is target, cst.Name(generated.name))
                self.warnings.append(
                    f"{context.owner}.__init__: {_code(target)} picked {type(child).__qualname__} in the traced run; "
                    f"the generated subclass of {context.owner} builds {generated.name} in its place, whatever "
                    f"{_code(target)} would pick for another configuration (only the traced choice carries the "
                    "modification). Trace with the configuration you mean to ship."
                )
                return original.visit(swapper)
        return self.recorded_call(child, generated, context, argument)

    # -- class attributes ---------------------------------------------------------------------------------

    def _no_split_override(self, module: nn.Module) -> list[cst.BaseStatement]:
        """``_no_split_modules`` listing the generated versions (and subclasses) of the classes it lists.

        transformers and accelerate match these names against each submodule's class name: a generated
        ``BertLayerModified`` must be listed beside ``BertLayer`` or ``device_map="auto"`` may split it. A new
        class that is no subclass of a listed one (a wrapper of a leaf module) needs no listing.
        """
        listed = getattr(type(module), "_no_split_modules", None)
        if not listed or not isinstance(listed, list | tuple | set):
            return []
        added = set()
        for sub in module.modules():
            generated = self._of_instance.get(id(sub))
            # A generated class, or a class of the script's subclassing a listed one (a replaced layer).
            cls, name = (
                (generated.original, generated.name)
                if generated is not None
                else (type(sub), type(sub).__name__)
            )
            if name not in listed and any(klass.__name__ in listed for klass in cls.__mro__):
                added.add(name)
        if not added:
            return []
        names = sorted(listed) if isinstance(listed, set) else list(listed)
        statement = cst.parse_statement(f"_no_split_modules = {json.dumps([*names, *sorted(added)])}\n")
        comment = "# device_map must not split the new layer classes either."
        return [
            statement.with_changes(
                leading_lines=[cst.EmptyLine(indent=False), cst.EmptyLine(comment=cst.Comment(comment))]
            )
        ]

    # -- tied weights -------------------------------------------------------------------------------------

    def _tie_overrides(
        self, module: nn.Module, path: str
    ) -> tuple[list[cst.BaseStatement], list[cst.BaseStatement]]:
        """Class attributes and methods that keep weight tying from pointing at replaced modules."""
        from transformers import PreTrainedModel

        if not isinstance(module, PreTrainedModel):
            return [], []
        changed = self._changed_prefixes(module)
        if not changed:
            return [], []
        tensors = dict(module.named_parameters(remove_duplicate=False))
        tensors.update(module.named_buffers(remove_duplicate=False))

        def touches(name: str) -> bool:
            return any(name == prefix or name.startswith(prefix + ".") for prefix in changed)

        def compatible(target: str, source: str) -> bool:
            return target in tensors and source in tensors and tensors[target].shape == tensors[source].shape

        output_weight, input_weight, embeddings_broken = self._embedding_tie(module, tensors, touches)
        statements: list[cst.BaseStatement] = []
        methods: list[cst.BaseStatement] = []
        ties = getattr(type(module), "_tied_weights_keys", None)
        if isinstance(ties, dict):
            kept = {}
            for target, source in ties.items():
                plain = _is_plain_parameter_name(target) and _is_plain_parameter_name(source)
                if plain and (touches(target) or touches(source)) and not compatible(target, source):
                    continue
                kept[target] = source
                if plain and touches(source) and compatible(target, source):
                    if tensors[target] is not tensors[source]:
                        self.warnings.append(
                            f"{_join(path, target)} and {_join(path, source)} are tied by "
                            f"{type(module).__qualname__}._tied_weights_keys but were not shared in the traced "
                            "model; the generated class keeps the tie (as transformers does on loading)."
                        )
            if len(kept) != len(ties):
                statements.append(_tied_keys_statement(kept, ties))
        elif isinstance(ties, list | tuple):
            kept_list = []
            for target in ties:
                if _is_plain_parameter_name(target):
                    if target not in tensors:
                        continue
                    if target == output_weight and embeddings_broken:
                        continue
                kept_list.append(target)
            if len(kept_list) != len(ties):
                statements.append(_tied_keys_statement(kept_list, ties))
        if embeddings_broken:
            methods.append(_no_output_embeddings_method(input_weight))
        return statements, methods

    def _embedding_tie(self, module, tensors, touches) -> tuple[str | None, str | None, bool]:
        """``(output weight name, input weight name, broken)`` of ``config.tie_word_embeddings`` tying."""
        config = getattr(module, "config", None)
        if config is None or not getattr(config, "tie_word_embeddings", False):
            return None, None, False
        try:
            output_embeddings = module.get_output_embeddings()
            input_embeddings = module.get_input_embeddings()
        except (NotImplementedError, AttributeError):
            return None, None, False
        if output_embeddings is None or input_embeddings is None:
            return None, None, False
        paths = {id(sub): name for name, sub in module.named_modules(remove_duplicate=False)}
        output_path, input_path = paths.get(id(output_embeddings)), paths.get(id(input_embeddings))
        if output_path is None or input_path is None:
            return None, None, False
        output_weight, input_weight = f"{output_path}.weight", f"{input_path}.weight"
        if not (touches(input_weight) or touches(output_weight)):
            return output_weight, input_weight, False
        output_tensor = getattr(output_embeddings, "weight", None)
        input_tensor = getattr(input_embeddings, "weight", None)
        broken = not (
            isinstance(input_tensor, nn.Parameter)
            and isinstance(output_tensor, nn.Parameter)
            and input_tensor.shape == output_tensor.shape
        )
        return output_weight, input_weight, broken

    def _changed_prefixes(self, module: nn.Module) -> list[str]:
        """Paths, relative to ``module``, of every child that changed below it."""
        prefixes = []
        for sub_path, sub in module.named_modules(remove_duplicate=False):
            for name in self.changes.get(id(sub), {}):
                prefixes.append(_join(sub_path, name))
        return prefixes


# -- helpers ----------------------------------------------------------------------------------------------


def _declared_as_tied(root: nn.Module, module: nn.Module, paths: list[str]) -> bool:
    """Whether the model's classes tie every parameter of ``module`` at all of ``paths`` but one.

    A module shared at several paths can be declared as one module per path only when the weights are tied
    by the model itself (``_tied_weights_keys`` of ``root`` or of a model inside it), and only when the
    module holds nothing but those parameters (a buffer would be duplicated, not shared).
    """
    from transformers import PreTrainedModel

    if len(list(module.buffers())) or not len(list(module.parameters())):
        return False
    models = [
        (prefix, sub)
        for prefix, sub in root.named_modules(remove_duplicate=False)
        if isinstance(sub, PreTrainedModel)
    ]

    def tied(name: str) -> bool:
        for prefix, model in models:
            if prefix and not name.startswith(prefix + "."):
                continue
            relative = name[len(prefix) + 1 :] if prefix else name
            # An instance attribute when it depends on the config (Marian), else the class attribute.
            keys = getattr(model, "_tied_weights_keys", None) or ()
            if relative in keys:
                return True
        return False

    parameters = [name for name, _ in module.named_parameters()]
    untied = [path for path in paths if not all(tied(f"{path}.{name}") for name in parameters)]
    return len(untied) <= 1


def _mutates_child(function: cst.FunctionDef, self_name: str, name: str) -> bool:
    """Whether ``function`` assigns to an attribute or item of ``self.<name>`` (``self.qkv.bias = ...``)."""
    child = m.Attribute(value=m.Name(self_name), attr=m.Name(name))
    inside = m.Attribute(value=child) | m.Subscript(value=child)
    targets = [
        *(t.target for node in m.findall(function, m.Assign()) for t in node.targets),
        *(node.target for node in m.findall(function, m.AugAssign() | m.AnnAssign())),
        *(t.target for node in m.findall(function, m.Del()) for t in [node]),
    ]
    return any(m.matches(target, inside) for target in targets)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _assignment(self_name: str, name: str, value: cst.BaseExpression) -> cst.SimpleStatementLine:
    target = cst.Attribute(cst.Name(self_name), cst.Name(name))
    return cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(target)], value)])


def _resolves_to(callee: cst.BaseExpression, cls: type, source: ClassSource) -> bool:
    """Whether the dotted name ``callee`` evaluates to ``cls`` in the globals of ``source``'s module."""
    if not m.matches(callee, m.Name() | m.Attribute()):
        return False
    parts = []
    node = callee
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return False
    parts.append(node.value)
    parts.reverse()
    if parts[0] not in source.namespace:
        return False
    obj = source.namespace[parts[0]]
    for part in parts[1:]:
        obj = getattr(obj, part, None)
    return obj is cls


def _find_call_of(expression: cst.BaseExpression, cls: type, source: ClassSource) -> cst.Call | None:
    """The first call in ``expression`` whose callee is ``cls`` (how the replaced module was built)."""
    for call in m.findall(expression, m.Call()):
        if _resolves_to(call.func, cls, source):
            return call
    return None


def _is_plain_parameter_name(name: str) -> bool:
    return all(part.isidentifier() or part.isdigit() for part in name.split("."))


def _tied_keys_statement(kept: dict | list, original: dict | list | tuple) -> cst.BaseStatement:
    dropped = [k for k in original if k not in kept]
    comment = f"# {', '.join(dropped)}: no longer tied, the module it named was replaced."
    statement = cst.parse_statement(f"_tied_weights_keys = {json.dumps(kept)}\n")
    return statement.with_changes(
        leading_lines=[cst.EmptyLine(indent=False), cst.EmptyLine(comment=cst.Comment(comment))]
    )


def _no_output_embeddings_method(input_weight: str | None) -> cst.BaseStatement:
    embeddings = input_weight.rsplit(".", 1)[0] if input_weight else "the input embeddings"
    method = cst.parse_statement(
        "def get_output_embeddings(self):\n"
        f"    # {embeddings} was replaced by a module without a weight of the output embeddings' shape:\n"
        "    # report no output embeddings, so that config.tie_word_embeddings ties nothing to it.\n"
        "    return None\n"
    )
    return method.with_changes(leading_lines=[cst.EmptyLine(indent=False)])


def _has_shape(call: cst.Call, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether ``call`` passes as many positional arguments and the same keywords as were recorded."""
    if any(arg.star for arg in call.args):
        return False
    positional = [arg for arg in call.args if arg.keyword is None]
    keywords = {arg.keyword.value for arg in call.args if arg.keyword is not None}
    return len(positional) == len(args) and keywords == set(kwargs)


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def _prepare(source: ClassSource, function: cst.FunctionDef) -> cst.FunctionDef:
    """A class's ``__init__`` as copied into a subclass: private names as stored, ``super()`` naming the class."""
    function = function.visit(UnmangleNames(source.definer.__name__))
    return function.visit(SuperCallRewriter(source.definer.__name__, source.self_name))


def _out_of_sight(path: str, edit: _InitEdit, name: str) -> str:
    classes = " or ".join(f"{source.definer.__qualname__}.__init__" for source in edit.copy.fragments)
    return (
        f"{path}: no statement of {classes} assigns self.{name} in a form the codemod can rewrite; the generated "
        "__init__ assigns it after the original body instead, with the argument values of the traced run."
    )


def _single_local_definition(function: cst.FunctionDef, name: str) -> cst.BaseExpression | None:
    """The value of ``name = value`` when that is the only binding of the local ``name``, read only once."""
    wrapper = MetadataWrapper(cst.Module(body=[function]), unsafe_skip_copy=True)
    scopes = wrapper.resolve(ScopeProvider)
    body = function.body.body
    scope = scopes.get(body[0]) if body else None
    if scope is None or len(scope.assignments[name]) != 1 or len(scope.accesses[name]) != 1:
        return None
    definitions = m.findall(function.body, m.Assign(targets=[m.AssignTarget(m.Name(name))]))
    return definitions[0].value if len(definitions) == 1 else None


def _swap_class_names(
    expression: cst.BaseExpression, is_target: Callable[[cst.BaseExpression], bool], new_name: str
) -> cst.BaseExpression | None:
    """``expression`` (a class name, or a conditional expression of them) with the target class renamed."""
    if m.matches(expression, m.Name() | m.Attribute()):
        return (
            cst.Name(new_name, lpar=expression.lpar, rpar=expression.rpar) if is_target(expression) else None
        )
    if isinstance(expression, cst.IfExp):
        body = _swap_class_names(expression.body, is_target, new_name)
        orelse = _swap_class_names(expression.orelse, is_target, new_name)
        if body is None and orelse is None:
            return None
        return expression.with_changes(body=body or expression.body, orelse=orelse or expression.orelse)
    return None


@dataclass(frozen=True)
class _ContainerLayout:
    """How a container's items changed besides replacements: items kept from the original, dropped, added."""

    kept_keys: list[str]
    dropped: int = 0
    removed_keys: list[str] = field(default_factory=list)
    appended_keys: list[str] = field(default_factory=list)


def _container_layout(container: nn.Module, changes: dict[str, Change], path: str) -> _ContainerLayout:
    """What ``changes`` did to ``container``'s list of items; refuses what the codemod cannot declare."""
    kind = type(container).__name__
    for key, change in changes.items():
        if change.kind == "set" and change.new is None:
            raise DeclarationError(
                f"{_join(path, key)}: an item of a {kind} was set to None (at {change.where}); the codemod cannot "
                f"declare a {kind} holding None. Fix: delete the item, or replace it by nn.Identity()."
            )
    deleted = [key for key, change in changes.items() if change.kind == "delete"]
    added = [key for key in container._modules if key in changes and changes[key].kind == "add"]
    if isinstance(container, nn.ModuleDict):
        kept = [key for key in container._modules if key not in added]
        return _ContainerLayout(kept, removed_keys=deleted, appended_keys=added)
    originals = {id(change.old) for change in changes.values() if change.old is not None}
    originals |= {id(item) for key, item in container._modules.items() if key not in changes}
    moved = [key for key, change in changes.items() if change.kind == "set" and id(change.new) in originals]
    count = len(container._modules)
    tail = [str(index) for index in range(count, count + len(deleted))]
    if moved or (deleted and added) or sorted(deleted, key=_as_index) != tail:
        raise DeclarationError(
            f"{path}: items of this {kind} were removed from its middle, inserted or reordered (at "
            f"{next(iter(changes.values())).where}); the codemod can declare items replaced, appended at its end or "
            f"deleted from its end only. Fix: build the {kind} you want and assign it as a whole "
            f"(owner.attribute = nn.{kind}(...))."
        )
    kept = [key for key in container._modules if key not in added]
    if any(not key.isdigit() for key in [*added, *deleted]):
        raise DeclarationError(
            f"{path}: items with names were added to or deleted from this {kind}; the codemod cannot declare that."
        )
    return _ContainerLayout(kept, dropped=len(deleted), appended_keys=added)


def _as_index(key: str) -> int:
    return int(key) if key.isdigit() else -1
