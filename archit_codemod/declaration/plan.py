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
from torch import nn

from archit_codemod.declaration.changes import Change, is_container, net_changes
from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.locate import ClassSource, locate_class
from archit_codemod.declaration.names import NameTable, free_names
from archit_codemod.declaration.records import Trace
from archit_codemod.declaration.render import RenderContext, Renderer, builtin_constructor
from archit_codemod.declaration.rewrite import (
    AssignmentStatements,
    InsertBeforePostInit,
    RemoveAttributeAssignment,
    ReplaceAttributeValue,
    SuperCallRewriter,
    SwapCallee,
    count_reads,
    rewrite_container,
)

_PRIMITIVES = (bool, int, float, str, bytes, type(None))


@dataclass(eq=False)
class GeneratedClass:
    """One class of the output: ``class <name>(<original>)`` with a rewritten copy of ``__init__``."""

    name: str
    original: type
    source: ClassSource
    class_def: cst.ClassDef
    instances: list[tuple[str, nn.Module]] = field(default_factory=list)


@dataclass
class _InitEdit:
    """The ``__init__`` being rewritten for one instance, and what goes around it."""

    function: cst.FunctionDef
    appended: list[cst.BaseStatement] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)


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
                f"{path or '<root>'} is a bare {type(module).__name__} whose items changed: no class declares it. "
                "Fix: make the container a child of an nn.Module subclass and modify that model instead."
            )
        self._of_instance[key] = None  # a module reachable from itself must not recurse forever
        generated = self._build(module, path)
        self._of_instance[key] = generated
        return generated

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
        edit = _InitEdit(source.init_def.visit(SuperCallRewriter(source.definer.__name__, self_name)))
        direct = self.changes.get(id(module), {})
        names = list(module._modules) + [name for name in direct if name not in module._modules]
        for name in names:
            child_path = _join(path, name)
            if name in direct:
                self._apply_change(edit, module, source, direct[name], child_path)
                continue
            child = module._modules[name]
            if child is None:
                continue
            if is_container(child):
                if self.is_dirty(child):
                    self._apply_container(edit, module, source, name, child, child_path)
                continue
            generated = self.class_for(child, child_path)
            if generated is not None:
                self._apply_child_class(edit, module, source, name, child, generated, child_path)
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
        generated = GeneratedClass(name, cls, source, class_def, [(path, module)])
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

    def _bind_free_names(self, generated: GeneratedClass) -> None:
        parsed = generated.source.parsed
        where = f"{generated.name} (copy of {generated.source.definer.__qualname__}.__init__)"
        for name in sorted(free_names(generated.class_def)):
            if name in self.names.local:
                continue
            bound_in_source = any(a.scope is parsed.global_scope for a in parsed.global_scope[name])
            if self.names.is_taken(name) and not bound_in_source:
                continue  # introduced by rendering, bound already
            self.names.require_name(name, parsed, where)

    def _class_def(self, module: nn.Module, path: str, source: ClassSource, edit: _InitEdit) -> cst.ClassDef:
        cls = type(module)
        base = self.names.reference(cls, f"the generated subclass of {cls.__qualname__}")
        changes = "; ".join(edit.summary) if edit.summary else "no direct change"
        docstring = f'"""{cls.__name__} with {changes}. Generated by archit_codemod."""'
        body: list[cst.BaseStatement] = [cst.parse_statement(docstring)]
        tie_statements, tie_methods = self._tie_overrides(module, path)
        body += tie_statements
        function = edit.function.with_changes(
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

    def _apply_change(
        self, edit: _InitEdit, owner: nn.Module, source: ClassSource, change: Change, path: str
    ) -> None:
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
        else:

            def replacement(original: cst.BaseExpression) -> cst.BaseExpression:
                context = self.replacing_context(owner, path, change.old, original, source, change.new)
                return self.render_module(change.new, context, name)

            only = self.built_by(source, name, change.old)
            rewriter = ReplaceAttributeValue(name, replacement, self_name, only)
            fallback = lambda: self.render_module(change.new, self.context(owner, path), name)  # noqa: E731
            edit.summary.append(f"{name}: {type(change.new).__name__}")
        edit.function = edit.function.visit(rewriter)
        if rewriter.rewritten == 0:
            edit.appended.append(_assignment(self_name, name, fallback()))
            self.warnings.append(
                f"{path}: no statement of {source.definer.__qualname__}.__init__ assigns self.{name} in a form the "
                "codemod can rewrite; the generated __init__ assigns it after the original body instead."
            )

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
        source: ClassSource,
        name: str,
        child: nn.Module,
        generated: GeneratedClass,
        path: str,
    ) -> None:
        """The child's own class got a generated version: swap the callee, keep the arguments."""
        self_name = source.self_name

        def swapped(original: cst.BaseExpression) -> cst.BaseExpression:
            return self.swap_class(original, child, generated, source, self.context(owner, path), name)

        rewriter = ReplaceAttributeValue(name, swapped, self_name, self.built_by(source, name, child))
        edit.function = edit.function.visit(rewriter)
        edit.summary.append(f"{name}: {generated.name}")
        if rewriter.rewritten == 0:
            value = self.recorded_call(child, generated, self.context(owner, path), name)
            edit.appended.append(_assignment(self_name, name, value))
            self.warnings.append(
                f"{path}: no statement of {source.definer.__qualname__}.__init__ assigns self.{name} in a form the "
                "codemod can rewrite; the generated __init__ assigns it after the original body instead."
            )

    def _apply_container(
        self,
        edit: _InitEdit,
        owner: nn.Module,
        source: ClassSource,
        name: str,
        container: nn.Module,
        path: str,
    ) -> None:
        """Items of a ModuleList/Sequential/ModuleDict changed: rewrite the container's construction."""
        item_changes = self.changes.get(id(container), {})
        for change in item_changes.values():
            if change.kind != "set" or change.new is None:
                what = "set to None" if change.kind == "set" else f"{change.kind}d"
                raise DeclarationError(
                    f"{_join(path, change.name)}: an item of a {type(container).__name__} was {what} "
                    f"(at {change.where}); only replacing items of a container can be declared yet. "
                    "Fix: replace the container as a whole (owner.attribute = nn.ModuleList([...]))."
                )
        planned: dict[str, Change | GeneratedClass] = {}
        for key, item in container._modules.items():
            if key in item_changes:
                planned[key] = item_changes[key]
            elif item is not None and is_container(item):
                if self.is_dirty(item):
                    raise DeclarationError(
                        f"{_join(path, key)}: items of nested containers changed; the codemod cannot declare that yet."
                    )
            elif item is not None:
                generated = self.class_for(item, _join(path, key))
                if generated is not None:
                    planned[key] = generated
        if not planned:
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
            if original is None:
                return self.render_module(plan.new, self.context(owner, item_path), argument)
            context = self.replacing_context(owner, item_path, plan.old, original, source, plan.new)
            return self.render_module(plan.new, context, argument)

        keys = list(container._modules)
        rewriter = ReplaceAttributeValue(
            name,
            lambda original: rewrite_container(original, keys, item_expression),
            source.self_name,
            self.built_by(source, name, container),
        )
        edit.function = edit.function.visit(rewriter)
        keys_of: dict[str, list[str]] = {}
        for key, plan in planned.items():
            shown = plan.name if isinstance(plan, GeneratedClass) else type(plan.new).__name__
            keys_of.setdefault(shown, []).append(key)
        for shown, shown_keys in keys_of.items():
            index = "*" if len(shown_keys) == len(keys) else ", ".join(shown_keys)
            edit.summary.append(f"{name}[{index}]: {shown}")
        if rewriter.rewritten == 0:
            for key in planned:
                index = key if key.isdigit() and not isinstance(container, nn.ModuleDict) else json.dumps(key)
                value = item_expression(key, None)
                target = cst.parse_expression(f"{source.self_name}.{name}[{index}]")
                edit.appended.append(cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(target)], value)]))
            self.warnings.append(
                f"{path}: the codemod cannot rewrite how {source.definer.__qualname__}.__init__ builds self.{name}; "
                "the generated __init__ replaces the changed items after the original body instead."
            )

    def built_by(self, source: ClassSource, name: str, module: nn.Module | None) -> set[int] | None:
        """Which assignments of ``self.<name>`` (numbered in source order) built ``module``.

        The tracer recorded the line of ``module``'s constructor call; only the statement containing that
        line is rewritten (``if``/``else`` branches that did not run stay as written). ``None`` (rewrite every
        assignment) when the line is unknown or in another file.
        """
        call = self.trace.call_of(module) if module is not None else None
        if call is None or Path(call.filename).resolve() != source.parsed.path:
            return None
        collector = AssignmentStatements(name, source.self_name)
        source.init_def.visit(collector)
        positions = source.parsed.positions
        found = {
            index
            for index, statement in enumerate(collector.found)
            if positions[statement].start.line <= call.lineno <= positions[statement].end.line
        }
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
        if call is not None and not self._wraps(new, old):
            # A wrapper gets its sizes from the module it wraps; matching its other arguments (r=32) to the
            # wrapped module's sizes (hidden_size=32) would only find coincidences.
            context.replaced_arguments = self._original_arguments(old, call)
        return context

    def _wraps(self, new: nn.Module | None, old: nn.Module) -> bool:
        """Whether ``new`` was built with ``old`` as one of its arguments."""
        call = self.trace.call_of(new) if new is not None else None
        if call is None:
            return False
        return any(value is old for value in [*call.args, *call.kwargs.values()])

    def _original_arguments(self, old: nn.Module, call: cst.Call) -> list[tuple[Any, cst.BaseExpression]]:
        """``(value, source)`` of each argument ``old`` was built with, matched by parameter name."""
        if any(arg.star for arg in call.args):
            return []
        try:
            signature = inspect.signature(type(old))
            nodes = signature.bind_partial(
                *[arg.value for arg in call.args if arg.keyword is None],
                **{arg.keyword.value: arg.value for arg in call.args if arg.keyword is not None},
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
            if type(value) in (int, float, str):
                found.append((value, node))
        return found

    def render_module(self, module: nn.Module, context: RenderContext, argument: str) -> cst.BaseExpression:
        """The constructor call that builds ``module`` (with its generated class if it changed after)."""
        generated = self.class_for(module, context.path) if self.is_dirty(module) else None
        call = self.trace.call_of(module)
        if call is not None or generated is not None:
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
        return self.renderer.call(callee, args, kwargs, context, type(module))

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
        return self.renderer.call(callee, call.args, call.kwargs, context, call.cls)

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
                return original.visit(swapper)
        return self.recorded_call(child, generated, context, argument)

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
