"""``--mode vendor``: self-contained copies of the original modeling files with the rewrites applied in place.

The planning is subclass mode's (:class:`~archit_codemod.declaration.plan.Planner`): the same classes on the
path from each changed module to its root, the same rewritten ``__init__`` statements. What differs is where
they go. Each file that defines one of those classes is copied, and in the copy:

- a class on the modified path is renamed with the suffix (``RobertaEmbeddings`` -> ``RobertaEmbeddingsModified``)
  and every reference to it, found with LibCST's scope analysis, follows; its ``__init__`` is the planner's
  rewritten one, except that ``super()`` stays ``super()``: the class *is* the vendored class, so there is no
  original ``__init__`` to skip;
- when the original class is still needed beside its modified version (one layer of a stack replaced, or the
  same class changed in two ways), the original stays and the modified versions are inserted after it;
- relative imports become absolute (``from ...activations import`` -> ``from transformers.activations import``);
- names a rewrite introduces get an import: a class of another vendored file is imported from it relatively
  (``from .modeling_bert import BertLayerModified``), a class of the traced script from the file that holds the
  script's definitions, anything else as subclass mode imports it.

Every other line is byte-identical to the original. The script's own definitions that the vendored classes use
go to a file of their own, named after the script.
"""

from __future__ import annotations

import builtins
import contextlib
import importlib
import importlib.metadata
import inspect
import itertools
import sys
import tempfile
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

import libcst as cst
import libcst.matchers as m
import torch
from torch import nn

from archit_codemod.declaration.emit import change_comment, header_lines
from archit_codemod.declaration.errors import DeclarationError, NothingModifiedError, VerificationError
from archit_codemod.declaration.layout import LayoutTooLong, original_statements
from archit_codemod.declaration.locate import ParsedSource, absolute_module, module_source, script_source
from archit_codemod.declaration.names import ImportBinding, NameTable, free_names
from archit_codemod.declaration.plan import GeneratedClass, Planner
from archit_codemod.declaration.provenance import ClassUse, Provenance, change_lines, class_uses
from archit_codemod.declaration.records import Trace
from archit_codemod.declaration.verify import build_root, require_same_tree

__all__ = ["VendoredFile", "Vendored", "load_vendored", "vendor", "verify_vendored"]

_RENAMED_IN_PLACE = frozenset({"__all__", "_no_split_modules"})
"""Assignments that list classes by name; the vendored copy renames the names in place."""


@dataclass
class VendoredFile:
    """One file of the vendored folder."""

    name: str
    """File name inside the folder (``modeling_roberta.py``)."""
    text: str
    """The vendored source."""
    original_label: str | None = None
    """Where the original lives, as a reviewer knows it (``transformers/models/roberta/modeling_roberta.py``);
    ``None`` for a new file (the script's definitions)."""
    original_text: str = ""
    """The original source ("" for a new file)."""

    @property
    def module(self) -> str:
        return self.name.removesuffix(".py")


@dataclass
class Vendored:
    """What vendor mode produced: the files and where the root classes are."""

    files: list[VendoredFile]
    root_classes: dict[str, tuple[str, str]]
    """Root name -> ``(module inside the folder, class name)``."""
    warnings: list[str] = field(default_factory=list)
    renamed: dict[str, tuple[type, str]] = field(default_factory=dict, repr=False)
    """Vendored class name -> ``(original class, module inside the folder)`` for every generated class."""
    copied_classes: dict[str, type] = field(default_factory=dict, repr=False)
    """Name -> class of a module beside the script whose definition was copied into the script's file."""


# -- planning -----------------------------------------------------------------------------------------------


@dataclass(eq=False)
class _FilePlan:
    """The edits of one vendored file."""

    name: str
    parsed: ParsedSource
    is_script: bool
    label: str | None
    in_place: dict[int, GeneratedClass] = field(default_factory=dict)
    """``id(original ClassDef)`` -> the generated class that replaces it, renamed."""
    copies: dict[int, list[GeneratedClass]] = field(default_factory=dict)
    """``id(original ClassDef)`` -> generated classes inserted after it (the original stays)."""
    class_defs: dict[int, cst.ClassDef] = field(default_factory=dict)


def vendor(
    trace: Trace,
    roots: dict[str, nn.Module],
    *,
    suffix: str = "Modified",
    prune: bool = False,
    provenance: Provenance | None = None,
) -> Vendored:
    """Vendor the original files of the classes that declare what ``trace`` recorded for ``roots``.

    ``provenance`` says how the headers name files (default: file names only).

    Raises:
        DeclarationError: a modification cannot be declared, or the files cannot be vendored (the message
            says why and what to do).
        NothingModifiedError: nothing changed under any of ``roots``.
    """
    script_path = Path(trace.script_path) if trace.script_path is not None else None
    provenance = provenance or Provenance(script=script_path)
    # Remote code is imported as a package of its own: nothing beside the script is importable from it.
    names = NameTable(
        script_module_name=trace.script_module_name, script_path=script_path, script_namespace=trace.namespace
    )
    planner = Planner(trace, names, suffix=suffix)
    root_generated: dict[str, GeneratedClass] = {}
    for root_name, root in roots.items():
        generated = planner.class_for(root, "")
        if generated is not None:
            root_generated[root_name] = generated
    if not root_generated:
        raise NothingModifiedError(
            f"No submodule of {', '.join(roots) or 'the given models'} was modified after its construction."
        )
    uses = class_uses(planner.generated, planner.changes, roots, provenance)
    vendorer = _Vendorer(trace, planner, provenance.script_label(), list(root_generated), prune)
    vendorer.uses = uses
    return vendorer.run(root_generated)


class _Vendorer:
    def __init__(
        self,
        trace: Trace,
        planner: Planner,
        shown_script: PurePath | None,
        root_names: list[str],
        prune: bool,
    ):
        self.trace = trace
        self.planner = planner
        self.names = planner.names
        self.shown_script = shown_script
        self.root_names = root_names
        self.prune = prune
        self.script_path = Path(trace.script_path) if trace.script_path is not None else None
        self.files: dict[str, _FilePlan] = {}  # by module name
        self.home: dict[str, str] = {}  # generated class name -> file module (inside the folder)
        self.uses: list[ClassUse] = []

    # -- which file, which class ----------------------------------------------------------------------------

    def _is_script(self, cls: type) -> bool:
        return self.script_path is not None and cls.__module__ == self.trace.script_module_name

    def _script_file_name(self) -> str:
        stem = self.shown_script.stem if self.shown_script is not None else ""
        taken = {plan.name for plan in self.files.values() if not plan.is_script}
        if stem.isidentifier() and f"{stem}.py" not in taken:
            return f"{stem}.py"
        return "script_definitions.py"

    def _file_of(self, cls: type) -> _FilePlan:
        module_name = cls.__module__
        if module_name not in self.files:
            if self._is_script(cls):
                parsed = script_source(self.script_path, self.trace.script_module_name)
                self.files[module_name] = _FilePlan("", parsed, True, None)
            else:
                try:
                    parsed = module_source(module_name)
                except (TypeError, OSError) as error:
                    raise DeclarationError(
                        f"Cannot vendor {module_name}.{cls.__qualname__}: its source file cannot be read ({error})."
                    ) from error
                name = parsed.path.name
                if name == "__init__.py":
                    name = f"{module_name.rpartition('.')[2]}.py"
                clash = [p for p in self.files.values() if p.name == name]
                if clash:
                    raise DeclarationError(
                        f"Cannot vendor both {clash[0].parsed.module_name} and {module_name}: both would be "
                        f"{name} in the output folder. Fix: use --mode subclass for this model."
                    )
                label = module_name.replace(".", "/") + (
                    "/__init__.py" if parsed.path.name == "__init__.py" else ".py"
                )
                self.files[module_name] = _FilePlan(name, parsed, False, label)
        return self.files[module_name]

    def _class_def(self, plan: _FilePlan, cls: type) -> cst.ClassDef:
        if "." in cls.__qualname__:
            raise DeclarationError(
                f"Cannot vendor {cls.__qualname__}: it is nested in another class. Fix: use --mode subclass."
            )
        found = [
            statement
            for statement in plan.parsed.module.body
            if isinstance(statement, cst.ClassDef) and statement.name.value == cls.__name__
        ]
        if not found:
            raise DeclarationError(
                f"Cannot vendor {cls.__qualname__}: {plan.parsed.path} does not define it at its top level "
                "(it may be defined inside an if/try block). Fix: use --mode subclass."
            )
        return found[-1]

    # -- the whole run --------------------------------------------------------------------------------------

    def run(self, root_generated: dict[str, GeneratedClass]) -> Vendored:
        generated = self.planner.generated
        by_class: dict[type, list[GeneratedClass]] = {}
        for item in generated:
            by_class.setdefault(item.original, []).append(item)
        # A class that a statement the planner wrote names by its original name is the original class (an
        # item of a stack that kept it, a sibling that was not modified): it must stay beside its new version.
        still_used: set[str] = set()
        for item in generated:
            still_used |= _names_in_rewritten_statements(self.restored_init(item), item.source.init_def)
        for cls, items in by_class.items():
            plan = self._file_of(cls)
            class_def = self._class_def(plan, cls)
            plan.class_defs[id(class_def)] = class_def
            if len(items) == 1 and cls.__name__ not in still_used:
                plan.in_place[id(class_def)] = items[0]
            else:
                plan.copies[id(class_def)] = items
        script_plan = next((plan for plan in self.files.values() if plan.is_script), None)
        if script_plan is not None:
            script_plan.name = self._script_file_name()
        for plan in self.files.values():
            for item in [*plan.in_place.values(), *(i for items in plan.copies.values() for i in items)]:
                self.home[item.name] = plan.name.removesuffix(".py")

        renames = {
            item.original.__name__: item.name
            for plan in self.files.values()
            for item in plan.in_place.values()
        }
        modules: dict[str, cst.Module] = {}
        for module_name, plan in self.files.items():
            if not plan.is_script:
                modules[module_name] = self._rewrite(plan, renames)

        # What the vendored files need from the script, and what the script's generated classes need.
        script_names = NameTable(
            script_module_name=self.trace.script_module_name,
            script_path=self.script_path,
            script_namespace=self.trace.namespace,
        )
        needed_imports: dict[str, list[str]] = {}
        for module_name, module in modules.items():
            needed_imports[module_name] = self._resolve_free_names(
                self.files[module_name], module, script_names, renames
            )
        if script_plan is not None:
            for item in [
                *script_plan.in_place.values(),
                *(i for v in script_plan.copies.values() for i in v),
            ]:
                script_names.add_script_definition(item.original.__name__, f"{item.name} (vendored)")
        # What the rewrites use from modules beside the script is copied into the script's file too.
        for name, definition in self.names.script_definitions.items():
            if definition.module:
                script_names.add_import(ImportBinding(name, definition.module, name), f"the vendored {name}")
        files: list[VendoredFile] = []
        header = self._header
        if script_names.script_definitions:
            if script_plan is None:
                script_plan = _FilePlan(
                    self._script_file_name(),
                    script_source(self.script_path, self.trace.script_module_name),
                    True,
                    None,
                )
                self.files[self.trace.script_module_name] = script_plan
            module = self._script_module(script_plan, script_names, renames)
            imports = self._resolve_free_names(script_plan, module, None, renames)
            module = _fit_lines(_insert_imports(module, imports), script_plan.parsed.module)
            text = _with_header(module, header(script_plan)).code
            files.append(VendoredFile(script_plan.name, text))
        for module_name, module in modules.items():
            plan = self.files[module_name]
            module = _insert_imports(module, needed_imports[module_name])
            if self.prune:
                module = _prune(module, self._kept_names(plan))
            module = _fit_lines(module, plan.parsed.module)
            text = _with_header(module, header(plan)).code
            files.append(VendoredFile(plan.name, text, plan.label, plan.parsed.module.code))
        files.sort(key=lambda file: (file.original_label is None, file.name))
        return Vendored(
            files=files,
            root_classes={name: (self.home[item.name], item.name) for name, item in root_generated.items()},
            warnings=list(dict.fromkeys(self.planner.warnings)),
            renamed={item.name: (item.original, self.home[item.name]) for item in generated},
            copied_classes={
                name: obj
                for table in (self.names, script_names)
                for name, obj in table.copied_from_helpers.items()
                if inspect.isclass(obj)
            },
        )

    def _header(self, plan: _FilePlan) -> list[str]:
        first = header_lines(self.shown_script, self.root_names)[0]
        here = {
            item.name for item in [*plan.in_place.values(), *(i for v in plan.copies.values() for i in v)]
        }
        changes = change_comment(change_lines([use for use in self.uses if use[2] in here]))
        if plan.is_script:
            return [
                first,
                "# The script's own definitions that the vendored classes use, copied verbatim.",
                "# Regenerate instead of editing by hand.",
                *changes,
            ]
        version = _distribution_version(plan.parsed.module_name)
        return [
            first,
            f"# A copy of {plan.label}{version}",
            "# with the traced modifications applied in place; every other line is as in the original.",
            "# Regenerate instead of editing by hand.",
            *changes,
        ]

    # -- one file -------------------------------------------------------------------------------------------

    def _rewrite(self, plan: _FilePlan, renames: dict[str, str]) -> cst.Module:
        """The original module with classes edited, references renamed and relative imports made absolute."""
        references = _reference_renames(plan, renames)
        transformer = _VendorTransformer(self, plan, references, renames)
        return plan.parsed.module.visit(transformer)

    def _script_module(self, plan: _FilePlan, table: NameTable, renames: dict[str, str]) -> cst.Module:
        """The script's needed definitions, in script order, with the same class edits as a vendored file."""
        definitions = sorted(table.script_definitions.values(), key=lambda d: d.order)
        for class_def in plan.class_defs.values():
            if not any(d.statement is class_def for d in definitions):
                raise DeclarationError(f"Cannot vendor {class_def.name.value} from the script.")
        references = _reference_renames(plan, renames)
        transformer = _VendorTransformer(self, plan, references, renames)
        # The original statements (not copies): the transformer recognises them by identity.
        edited = cst.Module(body=[d.statement for d in definitions]).visit(transformer)
        body = []
        for statement in edited.body:
            comments = [line for line in statement.leading_lines if line.comment is not None]
            blank = [cst.EmptyLine(), cst.EmptyLine()]
            body.append(statement.with_changes(leading_lines=[*blank, *comments]))
        imports = [cst.parse_statement(line + "\n") for line in table.import_lines()]
        if not imports and body:
            body[0] = body[0].with_changes(leading_lines=body[0].leading_lines[2:])
        return cst.Module(body=[*imports, *body])

    def restored_init(self, item: GeneratedClass) -> cst.FunctionDef:
        """The planner's rewritten ``__init__`` of ``item``, with ``super()`` as the original wrote it."""
        source = item.source
        init = _init_of(item.class_def)
        if source.class_def is not self._class_def(self._file_of(item.original), item.original):
            return init  # copied into a subclass: super(<Definer>, self) must skip the definer's __init__
        return init.visit(
            _RestoreSuper(source.definer.__name__, item.name, source.self_name, source.init_def)
        )

    def vendored_class(
        self,
        original: cst.ClassDef,
        edited: cst.ClassDef,
        item: GeneratedClass,
        renames: dict[str, str],
        references: dict[int, str],
    ) -> cst.ClassDef:
        """``edited`` (the original ClassDef, references renamed) as the vendored ``item``."""
        planned = item.class_def.body.body
        new_init = _init_of(item.class_def)
        # `_no_split_modules` names classes: the vendored file renames them in place instead (leave_Assign).
        members = [
            statement
            for statement in planned[1:]
            if statement is not new_init and _member_name(statement) not in _RENAMED_IN_PLACE
        ]
        body = list(edited.body.body)
        source = item.source
        own_init = source.class_def is original
        # Statements the planner left as they were are the original nodes again, so that the references they
        # hold are renamed like every other reference of the file.
        init = self.restored_init(item).visit(_OriginalStatements(source.init_def))
        init = init.visit(_RenameReferences(references))
        if own_init:
            index = next(i for i, s in enumerate(original.body.body) if s is source.init_def)
            body[index] = init.with_changes(leading_lines=source.init_def.leading_lines)
        else:
            definer = renames.get(source.definer.__name__, source.definer.__name__)
            init = init.visit(_RenameSuperClass(source.definer.__name__, definer))
            body = _insert_member(body, init, before_methods=True)
        for member in members:
            body = _replace_or_insert_member(body, member)
        decorators = [_with_custom_intro(d, item.original.__name__) for d in edited.decorators]
        return edited.with_changes(
            name=cst.Name(item.name), body=edited.body.with_changes(body=body), decorators=decorators
        )

    def _resolve_free_names(
        self, plan: _FilePlan, module: cst.Module, script_names: NameTable | None, renames: dict[str, str]
    ) -> list[str]:
        """Import statements for the names the rewrites introduced into ``module`` (which it does not bind)."""
        before = free_names(plan.parsed.module)
        missing = sorted(free_names(module) - before - set(dir(builtins)))
        own = plan.name.removesuffix(".py")
        relative: dict[str, list[str]] = {}
        absolute: list[str] = []
        for name in missing:
            home = self.home.get(name)
            if home is not None and home != own:
                relative.setdefault(home, []).append(name)
            elif name in self.names.script_definitions or (
                script_names is not None and self._is_script_name(name)
            ):
                if script_names is None:
                    raise DeclarationError(f"Cannot vendor: the script's definition {name} needs itself.")
                script_names.add_script_definition(name, f"the vendored {plan.name}")
                relative.setdefault("<script>", []).append(name)
            elif name in self.names.imports:
                absolute.append(self.names.imports[name].statement())
            else:
                raise DeclarationError(
                    f"The vendored {plan.name} uses the name {name}, which neither it nor the codemod binds. "
                    "Fix: use --mode subclass for this model."
                )
        lines = sorted(set(absolute))
        for home, imported in sorted(relative.items()):
            target = self._script_file_name().removesuffix(".py") if home == "<script>" else home
            lines.append(f"from .{target} import {', '.join(sorted(imported))}")
        return lines

    def _is_script_name(self, name: str) -> bool:
        value = self.trace.namespace.get(name)
        return getattr(value, "__module__", None) == self.trace.script_module_name

    def _kept_names(self, plan: _FilePlan) -> set[str]:
        module = plan.name.removesuffix(".py")
        return {name for name, home in self.home.items() if home == module}


# -- the CST transformer of one file ---------------------------------------------------------------------


class _VendorTransformer(cst.CSTTransformer):
    """Applies one file's edits; nodes are recognised by identity in the parsed original."""

    def __init__(
        self, vendorer: _Vendorer, plan: _FilePlan, references: dict[int, str], renames: dict[str, str]
    ):
        super().__init__()
        self.vendorer = vendorer
        self.plan = plan
        self.references = references
        self.renames = renames

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        return _renamed(self.references, original_node, updated_node)

    def leave_SimpleString(
        self, original_node: cst.SimpleString, updated_node: cst.SimpleString
    ) -> cst.SimpleString:
        return _renamed(self.references, original_node, updated_node)

    def leave_ImportFrom(self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom) -> cst.ImportFrom:
        if not original_node.relative or self.plan.is_script:
            return updated_node
        absolute = absolute_module(self.plan.parsed, original_node)
        return updated_node.with_changes(relative=[], module=cst.parse_expression(absolute))

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.ClassDef | cst.FlattenSentinel[cst.BaseStatement]:
        key = id(original_node)
        if key in self.plan.in_place:
            item = self.plan.in_place[key]
            return self.vendorer.vendored_class(
                original_node, updated_node, item, self.renames, self.references
            )
        if key in self.plan.copies:
            copies = [
                self.vendorer.vendored_class(
                    original_node, updated_node, item, self.renames, self.references
                ).with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()])
                for item in self.plan.copies[key]
            ]
            return cst.FlattenSentinel([updated_node, *copies])
        return updated_node

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        # `__all__` and `_no_split_modules` list classes by name.
        if not (
            len(updated_node.targets) == 1
            and _member_name(cst.SimpleStatementLine([updated_node])) in _RENAMED_IN_PLACE
            and isinstance(updated_node.value, cst.List | cst.Tuple)
        ):
            return updated_node
        elements = []
        for element in updated_node.value.elements:
            value = element.value
            if isinstance(value, cst.SimpleString) and value.evaluated_value in self.renames:
                new = self.renames[value.evaluated_value]
                value = value.with_changes(value=f"{value.prefix}{value.quote}{new}{value.quote}")
            elements.append(element.with_changes(value=value))
        return updated_node.with_changes(value=updated_node.value.with_changes(elements=elements))


def _reference_renames(plan: _FilePlan, renames: dict[str, str]) -> dict[int, str]:
    """``id(node) -> new name`` for every reference to a class of ``plan`` that is renamed in place."""
    found: dict[int, str] = {}
    scope = plan.parsed.global_scope
    for class_def in plan.class_defs.values():
        if id(class_def) not in plan.in_place:
            continue
        old = class_def.name.value
        new = renames[old]
        for assignment in scope[old]:
            if getattr(assignment, "node", None) is not class_def:
                continue
            for access in assignment.references:
                node = access.node
                if isinstance(node, cst.Name) or (
                    isinstance(node, cst.SimpleString) and node.evaluated_value == old
                ):
                    found[id(node)] = new
    return found


class _RestoreSuper(cst.CSTTransformer):
    """Undo the planner's ``super()`` -> ``super(<Definer>, self)`` in a vendored class's own ``__init__``.

    The vendored class is the class itself, not a subclass of the original, so ``super()`` already skips
    nothing it should run: the original line stays. Only when the original also wrote the explicit form (so
    the two cannot be told apart) does the explicit form stay, naming the vendored class.
    """

    def __init__(self, definer: str, new_name: str, self_name: str, original_init: cst.FunctionDef):
        super().__init__()
        self.explicit = m.Call(func=m.Name("super"), args=[m.Arg(m.Name(definer)), m.Arg(m.Name(self_name))])
        self.new_name = new_name
        self.had_explicit = bool(m.findall(original_init, self.explicit))

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        if not m.matches(updated_node, self.explicit):
            return updated_node
        if self.had_explicit:
            first = updated_node.args[0]
            return updated_node.with_changes(
                args=[first.with_changes(value=cst.Name(self.new_name)), *updated_node.args[1:]]
            )
        return updated_node.with_changes(args=[])


class _RenameSuperClass(cst.CSTTransformer):
    """``super(<old>, self)`` -> ``super(<new>, self)`` (the definer was renamed in place)."""

    def __init__(self, old: str, new: str):
        super().__init__()
        self.match = m.Call(func=m.Name("super"), args=[m.Arg(m.Name(old)), m.Arg()])
        self.new = new

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        if self.new == self.match.args[0].value.value or not m.matches(updated_node, self.match):
            return updated_node
        first = updated_node.args[0]
        return updated_node.with_changes(
            args=[first.with_changes(value=cst.Name(self.new)), *updated_node.args[1:]]
        )


def _with_custom_intro(decorator: cst.Decorator, original_name: str) -> cst.Decorator:
    """``@auto_docstring`` derives a class's documentation from its name, which transformers 4.57 refuses for
    a name it does not know (``...ForMaskedLMModified``); an explicit ``custom_intro`` is what it asks for."""
    intro = cst.Arg(
        cst.SimpleString(f'"{original_name} with the modifications traced by archit_codemod."'),
        keyword=cst.Name("custom_intro"),
        equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
    )
    if m.matches(decorator.decorator, m.Name("auto_docstring")):
        return decorator.with_changes(decorator=cst.Call(cst.Name("auto_docstring"), [intro]))
    if m.matches(decorator.decorator, m.Call(func=m.Name("auto_docstring"))):
        call = decorator.decorator
        if any(m.matches(arg.keyword, m.Name("custom_intro")) for arg in call.args):
            return decorator
        args = list(call.args)
        if args:
            args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        return decorator.with_changes(decorator=call.with_changes(args=[*args, intro]))
    return decorator


def _init_of(class_def: cst.ClassDef) -> cst.FunctionDef:
    return next(
        statement
        for statement in class_def.body.body
        if isinstance(statement, cst.FunctionDef) and statement.name.value == "__init__"
    )


def _renamed(references: dict[int, str], original: cst.CSTNode, updated: cst.CSTNode) -> cst.CSTNode:
    new = references.get(id(original))
    if new is None:
        return updated
    if isinstance(updated, cst.SimpleString):
        return updated.with_changes(value=f"{updated.prefix}{updated.quote}{new}{updated.quote}")
    return updated.with_changes(value=new)


class _RenameReferences(cst.CSTTransformer):
    """Rename the nodes of ``references`` (found by identity)."""

    def __init__(self, references: dict[int, str]):
        super().__init__()
        self.references = references

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        return _renamed(self.references, original_node, updated_node)

    def leave_SimpleString(
        self, original_node: cst.SimpleString, updated_node: cst.SimpleString
    ) -> cst.SimpleString:
        return _renamed(self.references, original_node, updated_node)


def _statement_code(statement: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(statement.with_changes(leading_lines=()))


def _statements(function: cst.FunctionDef) -> list[cst.CSTNode]:
    return [
        *m.findall(function.body, m.SimpleStatementLine()),
        *m.findall(function.body, m.If() | m.For() | m.While() | m.With() | m.Try()),
    ]


class _OriginalStatements(cst.CSTTransformer):
    """Put back the original node of every statement whose code the planner did not change."""

    def __init__(self, original_init: cst.FunctionDef):
        super().__init__()
        self.by_code = {_statement_code(statement): statement for statement in _statements(original_init)}

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> Any:
        if isinstance(updated_node, cst.SimpleStatementLine | cst.BaseCompoundStatement) and not isinstance(
            updated_node, cst.FunctionDef | cst.ClassDef
        ):
            original = self.by_code.get(_statement_code(updated_node))
            if original is not None:
                return original
        return updated_node


def _names_in_rewritten_statements(init: cst.FunctionDef, original_init: cst.FunctionDef) -> set[str]:
    """The names read by the statements of ``init`` that differ from every statement of ``original_init``,
    except the class named in ``super(Class, self)``."""
    original = {
        _statement_code(statement) for statement in m.findall(original_init.body, m.SimpleStatementLine())
    }
    names: set[str] = set()
    for statement in m.findall(init.body, m.SimpleStatementLine()):
        if _statement_code(statement) in original:
            continue
        skipped = {
            id(call.args[0].value)
            for call in m.findall(statement, m.Call(func=m.Name("super"), args=[m.Arg(m.Name()), m.Arg()]))
        }
        names |= {name.value for name in m.findall(statement, m.Name()) if id(name) not in skipped}
    return names


def _member_name(statement: cst.CSTNode) -> str | None:
    if isinstance(statement, cst.FunctionDef | cst.ClassDef):
        return statement.name.value
    if m.matches(statement, m.SimpleStatementLine(body=[m.Assign(targets=[m.AssignTarget(m.Name())])])):
        return statement.body[0].targets[0].target.value
    if m.matches(statement, m.SimpleStatementLine(body=[m.AnnAssign(target=m.Name())])):
        return statement.body[0].target.value
    return None


def _insert_member(body: list, member: cst.BaseStatement, *, before_methods: bool) -> list:
    body = list(body)
    if len(body) == 1 and m.matches(body[0], m.SimpleStatementLine(body=[m.Pass()])):
        return [member.with_changes(leading_lines=[])]
    if before_methods:
        at = next((i for i, s in enumerate(body) if isinstance(s, cst.FunctionDef)), len(body))
    else:
        at = len(body)
    body.insert(at, member)
    return body


def _replace_or_insert_member(body: list, member: cst.BaseStatement) -> list:
    """Put the planner's class attribute or method in place of the original one of the same name."""
    name = _member_name(member)
    comments = [line for line in member.leading_lines if line.comment is not None]
    for index, statement in enumerate(body):
        if name is not None and _member_name(statement) == name:
            body = list(body)
            body[index] = member.with_changes(leading_lines=[*statement.leading_lines, *comments])
            return body
    return _insert_member(body, member, before_methods=isinstance(member, cst.SimpleStatementLine))


def _insert_imports(module: cst.Module, lines: Sequence[str]) -> cst.Module:
    """``module`` with ``lines`` added after its last top-level import (existing lines left as they are)."""
    if not lines:
        return module
    statements = [cst.parse_statement(line + "\n") for line in lines]
    body = list(module.body)
    last = -1
    for index, statement in enumerate(body):
        if m.matches(statement, m.SimpleStatementLine(body=[m.Import() | m.ImportFrom()])):
            last = index
        elif isinstance(statement, cst.ClassDef | cst.FunctionDef):
            break
    if last == -1:
        # No import: after a leading docstring, if any.
        last = (
            0 if body and m.matches(body[0], m.SimpleStatementLine(body=[m.Expr(m.SimpleString())])) else -1
        )
    body[last + 1 : last + 1] = statements
    return module.with_changes(body=body)


def _fit_lines(module: cst.Module, original: cst.Module) -> cst.Module:
    """``module`` with the statements that edits made longer than the line length laid out as ruff would."""
    return module.visit(LayoutTooLong(original_statements([original]), indent=0))


def _with_header(module: cst.Module, lines: Sequence[str]) -> cst.Module:
    header = [cst.EmptyLine(comment=cst.Comment(line)) for line in lines]
    rest = list(module.header)
    if rest and rest[0].comment is not None:
        header.append(cst.EmptyLine())
    elif not rest and module.body:
        header.append(cst.EmptyLine())
    return module.with_changes(header=[*header, *rest])


def _prune(module: cst.Module, roots: set[str]) -> cst.Module:
    """Drop top-level classes and functions that nothing kept reaches from ``roots``."""
    definitions: dict[str, cst.CSTNode] = {}
    for statement in module.body:
        if isinstance(statement, cst.ClassDef | cst.FunctionDef):
            definitions[statement.name.value] = statement
    kept: set[str] = set()
    pending = [name for name in roots if name in definitions]
    # Statements that are not definitions (constants, registrations) keep what they use.
    for statement in module.body:
        if not isinstance(statement, cst.ClassDef | cst.FunctionDef) and _member_name(statement) != "__all__":
            pending.extend(name.value for name in m.findall(statement, m.Name()) if name.value in definitions)
    while pending:
        name = pending.pop()
        if name in kept:
            continue
        kept.add(name)
        pending.extend(n.value for n in m.findall(definitions[name], m.Name()) if n.value in definitions)
    dropped = set(definitions) - kept
    body = []
    for statement in module.body:
        if isinstance(statement, cst.ClassDef | cst.FunctionDef) and statement.name.value in dropped:
            continue
        if _member_name(statement) == "__all__" and isinstance(statement.body[0].value, cst.List | cst.Tuple):
            value = statement.body[0].value
            elements = [
                e
                for e in value.elements
                if not (isinstance(e.value, cst.SimpleString) and e.value.evaluated_value in dropped)
            ]
            if elements:
                elements[-1] = elements[-1].with_changes(comma=value.elements[-1].comma)
            statement = statement.with_changes(
                body=[statement.body[0].with_changes(value=value.with_changes(elements=elements))]
            )
        body.append(statement)
    return module.with_changes(body=body)


def _distribution_version(module_name: str) -> str:
    """`` (transformers 5.24.0)`` for a module of an installed distribution, "" otherwise."""
    top = module_name.split(".")[0]
    for distribution in importlib.metadata.packages_distributions().get(top, []):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            return f" ({distribution} {importlib.metadata.version(distribution)})"
    return ""


# -- importing and verifying the vendored files ---------------------------------------------------------

_counter = itertools.count()


class VendoredPackage:
    """The vendored files imported as one package (a fresh name, so nothing clashes with a real module)."""

    def __init__(self, name: str):
        self.name = name

    def module(self, stem: str) -> types.ModuleType:
        return importlib.import_module(f"{self.name}.{stem}")


@contextlib.contextmanager
def load_vendored(files: Sequence[VendoredFile], directory: Path | None = None) -> Iterator[VendoredPackage]:
    """Import ``files`` as a package (written to ``directory``, a temporary folder by default).

    The package and its modules are removed from ``sys.modules`` afterwards.
    """
    with contextlib.ExitStack() as stack:
        if directory is None:
            directory = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="archit_codemod_vendor_"))
            )
            for file in files:
                (directory / file.name).write_text(file.text, encoding="utf-8")
        name = f"archit_codemod_vendored_{next(_counter)}"
        package = types.ModuleType(name)
        package.__path__ = [str(directory)]
        package.__package__ = name
        sys.modules[name] = package
        try:
            yield VendoredPackage(name)
        finally:
            for module_name in [n for n in sys.modules if n == name or n.startswith(name + ".")]:
                del sys.modules[module_name]


def original_classes(vendored: Vendored, package: VendoredPackage) -> dict[str, type]:
    """Vendored class name -> the class it is a copy of (renamed or not), for comparing module trees."""
    found: dict[str, type] = {}
    for file in vendored.files:
        module = package.module(file.module)
        if file.original_label is None:
            continue
        original_module = importlib.import_module(file.original_label.removesuffix(".py").replace("/", "."))
        for name, value in vars(module).items():
            if inspect.isclass(value) and value.__module__ == module.__name__:
                original = getattr(original_module, name, None)
                if inspect.isclass(original):
                    found[name] = original
    for name, (original, _) in vendored.renamed.items():
        found[name] = original
    found.update(vendored.copied_classes)
    return found


def verify_vendored(vendored: Vendored, trace: Trace | None, roots: dict[str, nn.Module]) -> None:
    """Import the vendored files as a package and check each root class rebuilds its traced root (on meta).

    Raises:
        VerificationError: the module trees differ (the first differing paths are listed) or the vendored
            code fails to import or build.
    """
    script_module_name = trace.script_module_name if trace is not None else "__main__"
    try:
        with load_vendored(vendored.files) as package:
            original_of = original_classes(vendored, package)
            for root_name, (stem, class_name) in vendored.root_classes.items():
                with torch.device("meta"):
                    built = build_root(package.module(stem), class_name, roots[root_name], trace)
                require_same_tree(
                    built, roots[root_name], f"{stem}.{class_name} does not rebuild the traced model {root_name!r}",
                    original_of=original_of, script_module_name=script_module_name,
                )  # fmt: skip
    except VerificationError:
        raise
    except Exception as error:
        raise VerificationError(
            f"The vendored code fails to build: {type(error).__name__}: {error}"
        ) from error
