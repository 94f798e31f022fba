"""The vendor emitter: self-contained copies of the original files with the plan applied in place.

Each file that defines a planned class is copied, and in the copy:

- a class whose every module in the traced models gets the same plan is renamed in place with the suffix
  (``RobertaEmbeddings`` -> ``RobertaEmbeddingsModified``), and every reference to it follows; otherwise the original
  stays and the modified versions follow it as subclasses that re-declare ``__init__`` (as in subclass mode), so
  that what transformers finds by class (``_can_record_outputs``, ``_init_weights``) finds them too;
- a planned class's ``__init__`` is the original one with the plan's edits made; ``super()`` stays as written (the
  class *is* the vendored class), and only the ancestor bodies it inlines get ``super(<Ancestor>, self)``;
- relative imports become absolute, and names the edits introduce get an import: a class of another vendored file
  from that file (``from .modeling_bert import BertLayerModified``), a class of the traced script from the file
  that holds the script's definitions, anything else as the subclass emitter imports it;
- a decorator that registered a definition in its library's registry when the original was imported
  (torchvision's and timm's ``@register_model``) is left out, with a comment that says so
  (:mod:`~archit_codemod.declaration.emitting.registrations`): the copy must import beside the installed library.

Every other line is byte-identical to the original.
"""

from __future__ import annotations

import builtins
import dataclasses

import libcst as cst
import libcst.matchers as m

from archit_codemod.declaration.editing.edits import Together, apply_in_place
from archit_codemod.declaration.editing.layout import LayoutTooLong, layout_statement, original_statements
from archit_codemod.declaration.editing.subclass import prepare_for_subclass
from archit_codemod.declaration.emitting.decorated import carried_decorators, inherited_again
from archit_codemod.declaration.emitting.header import change_comment, change_list, header_lines
from archit_codemod.declaration.emitting.init_body import CLASS_INDENT, build_init
from archit_codemod.declaration.emitting.lazy_imports import GuardLazyImports
from archit_codemod.declaration.emitting.output import GeneratedFile, Output
from archit_codemod.declaration.emitting.registrations import DropRegistrations, registering_decorators
from archit_codemod.declaration.emitting.subclass import copied_classes
from archit_codemod.declaration.emitting.vendor_file import (
    RENAMED_IN_PLACE,
    AbsoluteImports,
    KeepPrivateNames,
    RenameClassLists,
    RenameReferences,
    distribution_version,
    insert_imports,
    insert_member,
    list_beyond_renames,
    prune,
    replace_or_insert_member,
    with_custom_intro,
    with_header,
)
from archit_codemod.declaration.emitting.vendor_placement import VendoredFile, place_classes
from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.planning.plan import ClassPlan, Plan
from archit_codemod.declaration.rendering.names import (
    ImportBinding,
    NameTable,
    free_names,
    original_free_names,
    unbound_names,
)
from archit_codemod.declaration.sources.locate import ParsedSource

_SCRIPT = "<script>"


def emit_vendor(plan: Plan, *, prune: bool = False) -> Output:
    """The vendored files that declare ``plan``; ``prune`` leaves out what the modified models do not use."""
    return _VendorEmitter(plan, prune).run()


class _VendorEmitter:
    def __init__(self, plan: Plan, prune: bool):
        self.plan = plan
        self.prune = prune
        self.script = plan.script
        placement = place_classes(plan)
        self.files = placement.files
        self.home = placement.home
        self.vendored_names = placement.vendored_names
        self.renames = placement.renames
        self.script_file_name = placement.script_file_name

    def run(self) -> Output:
        renames = self.renames
        modules = {
            name: self._rewrite(file, renames) for name, file in self.files.items() if not file.is_script
        }
        script_names = self._script_names()
        imports = {
            name: self._imports_for(self.files[name], module, script_names)
            for name, module in modules.items()
        }
        files = []
        script_file = self._script_file(script_names, renames)
        if script_file is not None:
            files.append(script_file)
        for module_name, module in modules.items():
            file = self.files[module_name]
            module = insert_imports(module, imports[module_name])
            if self.prune:
                module = prune(module, {plan.name for plan in file.plans()})
            module = _fit_lines(module, file.parsed.module)
            text = with_header(module, self._header(file)).code
            files.append(GeneratedFile(file.name, text, file.label, file.parsed.module.code))
        files.sort(key=lambda file: (file.original_label is None, file.name))
        return Output(
            mode="vendor",
            files=tuple(files),
            roots={root: (self.home[plan.name], plan.name) for root, plan in self.plan.roots.items()},
            classes={plan.name: (plan.original, self.home[plan.name]) for plan in self.plan.classes},
            warnings=(*self.plan.warnings, *self.script.warnings),
            copied_classes=copied_classes(self.plan.names, script_names),
            replays=self.plan.replays,
        )

    # -- one file -----------------------------------------------------------------------------------------

    def _rewrite(self, file: VendoredFile, renames: dict[str, str]) -> cst.Module:
        """The original module with references renamed, classes edited and relative imports made absolute."""
        transformers = [RenameReferences(file.references), RenameClassLists(renames)]
        if not file.is_script:
            transformers += [AbsoluteImports(file.parsed), GuardLazyImports()]
            registering = registering_decorators(file.parsed)
            if registering:
                transformers.append(DropRegistrations(registering))
        transformers.append(_EditClasses(self, file))
        return file.parsed.module.visit(Together(transformers))

    def vendored_class(
        self, file: VendoredFile, original: cst.ClassDef, updated: cst.ClassDef, plan: ClassPlan
    ) -> cst.ClassDef:
        """``updated`` (the original ClassDef with its references renamed) as the vendored class of ``plan``."""
        source = plan.init.fragments[0]
        own_init = source.class_def is original
        renamer = RenameReferences(file.references)
        edits = [edit.with_rendered(RenameReferences(file.references)) for edit in plan.edits]

        def rewrite_part(level: int, part, function: cst.FunctionDef) -> cst.FunctionDef:
            edited = apply_in_place(
                function, edits, also=[RenameReferences(file.references), AbsoluteImports(part.parsed)]
            )
            if level == 0 and own_init:
                return edited
            return prepare_for_subclass(part, edited, self.vendored_names.get(part.definer))

        init = build_init(
            dataclasses.replace(plan, edits=tuple(edits)), rewrite_part, lambda f: f.visit(renamer)
        )
        block = _indented(updated.body)
        body = list(block.body)
        if own_init:
            index = next(i for i, s in enumerate(original.body.body) if s is source.init_def)
            body[index] = init.with_changes(leading_lines=source.init_def.leading_lines)
        else:
            body = insert_member(body, init, before_methods=True)
        for statement in self._members(plan):
            body = replace_or_insert_member(body, statement)
        decorators = [with_custom_intro(d, plan.original.__name__) for d in updated.decorators]
        module_globals = {assignment.name for assignment in file.parsed.global_scope.assignments}
        body = block.with_changes(body=body).visit(KeepPrivateNames(plan.original.__name__, module_globals))
        return updated.with_changes(name=cst.Name(plan.name), body=body, decorators=decorators)

    def modified_subclass(self, file: VendoredFile, plan: ClassPlan) -> cst.ClassDef:
        """``class <plan.name>(<Original>)`` re-declaring ``__init__``, beside the original that other modules keep.

        A subclass rather than a second copy: transformers recognises modules by class (``OutputRecorder(BartAttention,
        ...)`` in ``_can_record_outputs``, ``isinstance`` in ``_init_weights``), and a copy would escape those.
        """
        renamer = RenameReferences(file.references)
        edits = [edit.with_rendered(RenameReferences(file.references)) for edit in plan.edits]

        def rewrite_part(level: int, part, function: cst.FunctionDef) -> cst.FunctionDef:
            edited = apply_in_place(
                function, edits, also=[RenameReferences(file.references), AbsoluteImports(part.parsed)]
            )
            return prepare_for_subclass(part, edited, self.vendored_names.get(part.definer))

        init = build_init(
            dataclasses.replace(plan, edits=tuple(edits)), rewrite_part, lambda f: f.visit(renamer)
        )
        comments = [line for line in init.leading_lines if line.comment is not None]
        body = [
            cst.parse_statement(f'"""{plan.docstring}"""'),
            init.with_changes(leading_lines=[cst.EmptyLine(indent=False), *comments]),
        ]
        for statement in self._members(plan):
            body = replace_or_insert_member(body, statement)
        return cst.ClassDef(
            name=cst.Name(plan.name),
            bases=[cst.Arg(cst.Name(plan.original.__name__))],
            body=cst.IndentedBlock(body),
            decorators=carried_decorators(plan),
            leading_lines=[cst.EmptyLine(), cst.EmptyLine()],
        )

    def _members(self, plan: ClassPlan) -> list[cst.BaseStatement]:
        """The class attributes and methods ``plan`` adds or replaces, as the vendored file needs them."""
        statements = []
        for member in plan.members:
            statement = member.statement
            if member.name in RENAMED_IN_PLACE:
                listed = getattr(plan.original, member.name, None) or ()
                statement = list_beyond_renames(statement, self.renames, listed)
                if statement is None:
                    continue
                statement = layout_statement(statement, CLASS_INDENT)
            statements.append(statement)
        return statements

    def _header(self, file: VendoredFile) -> list[str]:
        first = header_lines(self.script.shown_path, list(self.plan.roots))[0]
        changes = change_comment(change_list(self.plan, file.plans()))
        if file.is_script:
            return [
                first,
                "# The script's own definitions that the vendored classes use, copied verbatim.",
                "# Regenerate instead of editing by hand.",
                *changes,
            ]
        return [
            first,
            f"# A copy of {file.label}{distribution_version(file.parsed.module_name)}",
            "# with the traced modifications applied in place; every other line is as in the original.",
            "# Regenerate instead of editing by hand.",
            *changes,
        ]

    # -- names the edits introduce ------------------------------------------------------------------------

    def _imports_for(
        self, file: VendoredFile, module: cst.Module, script_names: NameTable | None
    ) -> list[str]:
        """Import statements for the names the edits introduced into ``module`` (which it does not bind)."""
        missing = sorted(_introduced_names(file, module))
        relative: dict[str, list[str]] = {}
        absolute: list[str] = []
        names = self.plan.names
        for name in missing:
            home = self.home.get(name)
            if home is not None and home != file.module:
                relative.setdefault(home, []).append(name)
            elif name in names.script_definitions or (
                script_names is not None and self._is_script_name(name)
            ):
                if script_names is None:
                    raise DeclarationError(f"Cannot vendor: the script's definition {name} needs itself.")
                if name not in names.copied_from_helpers:  # those are in the script's file already
                    script_names.add_script_definition(name, f"the vendored {file.name}")
                relative.setdefault(_SCRIPT, []).append(name)
            elif name in names.imports or self._bound_by_inlined_part(file, name):
                absolute.append(names.imports[name].statement())
            else:
                raise DeclarationError(
                    f"The vendored {file.name} uses the name {name}, which neither it nor the codemod binds. "
                    "Fix: use --mode subclass for this model."
                )
        lines = sorted(set(absolute))
        for home, imported in sorted(relative.items()):
            target = self.script_file_name.removesuffix(".py") if home == _SCRIPT else home
            lines.append(f"from .{target} import {', '.join(sorted(imported))}")
        return lines

    def _bound_by_inlined_part(self, file: VendoredFile, name: str) -> bool:
        """Bind ``name`` as the other file binds it that an ``__init__`` inlined into ``file`` comes from
        (``AutoModel`` in the ``GenericForSequenceClassification.__init__`` of a vendored Llama class); whether it is
        now imported."""
        for plan in file.plans():
            for fragment in plan.init.fragments:
                if fragment.parsed is not file.parsed and name in original_free_names(fragment.init_def):
                    self.plan.names.require_name(
                        name, fragment.parsed, f"{plan.name} in the vendored {file.name}"
                    )
                    return name in self.plan.names.imports
        return False

    def _is_script_name(self, name: str) -> bool:
        return self.script.owns(self.script.namespace.get(name))

    # -- the script's definitions -------------------------------------------------------------------------

    def _script_names(self) -> NameTable:
        """The names of the file of the script's definitions, which holds the copies from modules beside the
        script too: a vendored folder is imported as a package of its own, where those modules are not found."""
        table = NameTable(self.script)
        for name, definition in self.plan.names.script_definitions.items():
            if definition.module:
                table.add_import(ImportBinding(name, definition.module, name), f"the vendored {name}")
        return table

    def _script_file(self, script_names: NameTable, renames: dict[str, str]) -> GeneratedFile | None:
        """The file of the script's definitions that the vendored files and classes use, if any."""
        file = next((f for f in self.files.values() if f.is_script), None)
        if file is not None:
            for plan in file.plans():
                script_names.add_script_definition(plan.original.__name__, f"{plan.name} (vendored)")
            # The edits of the script's own classes may build other classes of the script (`GatedHead(...)` in
            # place of `nn.Linear(...)`): those are copied beside them, not imported from the file itself. The
            # copies from modules beside the script are bound already (_script_names).
            for name, definition in self.plan.names.script_definitions.items():
                if not definition.module:
                    script_names.add_script_definition(name, "the vendored classes of the script")
        if not script_names.script_definitions:
            return None
        if file is None:
            file = VendoredFile(self.script_file_name, self.script.parsed(), True, None)
            self.files[self.script.module_name] = file
        definitions = sorted(script_names.script_definitions.values(), key=lambda d: d.order)
        edited = cst.Module(body=[d.statement for d in definitions]).visit(
            Together([RenameReferences(file.references), RenameClassLists(renames), _EditClasses(self, file)])
        )
        body = []
        for statement in edited.body:
            comments = [line for line in statement.leading_lines if line.comment is not None]
            body.append(statement.with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine(), *comments]))
        imports = [cst.parse_statement(line + "\n") for line in script_names.import_lines()]
        if not imports and body:
            body[0] = body[0].with_changes(leading_lines=body[0].leading_lines[2:])
        module = cst.Module(body=[*imports, *body])
        module = _fit_lines(insert_imports(module, self._imports_for(file, module, None)), file.parsed.module)
        return GeneratedFile(file.name, with_header(module, self._header(file)).code)


class _EditClasses(cst.CSTTransformer):
    """Replace each planned class of one file by its vendored version (in place, or followed by its copies)."""

    def __init__(self, emitter: _VendorEmitter, file: VendoredFile) -> None:
        super().__init__()
        self.emitter = emitter
        self.file = file

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.ClassDef | cst.FlattenSentinel[cst.BaseStatement]:
        key = id(original_node)
        if key in self.file.in_place:
            return self.emitter.vendored_class(
                self.file, original_node, updated_node, self.file.in_place[key]
            )
        if key in self.file.copies:
            subclasses = [
                statement
                for plan in self.file.copies[key]
                for statement in [self.emitter.modified_subclass(self.file, plan), *inherited_again(plan)]
            ]
            return cst.FlattenSentinel([updated_node, *subclasses])
        return updated_node


def _indented(block: cst.BaseSuite) -> cst.IndentedBlock:
    """A class body as an indented block: ``class LlamaForSequenceClassification(...): ...`` gets members below it,
    in place of its placeholder (``...`` or ``pass``)."""
    if isinstance(block, cst.IndentedBlock):
        return block
    kept = [
        cst.SimpleStatementLine([statement.with_changes(semicolon=cst.MaybeSentinel.DEFAULT)])
        for statement in block.body
        if not m.matches(statement, m.Pass() | m.Expr(m.Ellipsis()))
    ]
    return cst.IndentedBlock(kept or [cst.SimpleStatementLine([cst.Pass()])])


def _fit_lines(module: cst.Module, original: cst.Module) -> cst.Module:
    """``module`` with the statements that edits made longer than the line length laid out as ruff would (a
    reference renamed with the suffix, a relative import made absolute); every other statement as written.

    Top-level statements that are the original nodes themselves (unchanged) are left alone without a look; the
    changed ones are compared with the statements of the originals they replace."""
    kept = {id(statement) for statement in module.body}
    replaced = [statement for statement in original.body if id(statement) not in kept]
    layout = LayoutTooLong(original_statements(replaced), indent=0)
    unchanged = {id(statement) for statement in original.body}
    return module.with_changes(body=[s if id(s) in unchanged else s.visit(layout) for s in module.body])


def _introduced_names(file: VendoredFile, module: cst.Module) -> set[str]:
    """The names ``module`` (the edited copy of ``file``) reads that it does not bind: those the edits introduced.

    A copied file keeps its unchanged top-level statements as the original nodes, which read what the original
    read; only the changed ones are analysed, against the original's global names less the classes renamed away.
    The file of the script's definitions is a new module: analysed whole.
    """
    if file.is_script:
        read = free_names(module)
        bound: set[str] = set()
    else:
        unchanged = {id(statement) for statement in file.parsed.module.body}
        changed = [statement for statement in module.body if id(statement) not in unchanged]
        read = free_names(cst.Module(body=changed)) if changed else set()
        renamed_away = {plan.original.__name__ for plan in file.in_place.values()}
        bound = {assignment.name for assignment in file.parsed.global_scope.assignments} - renamed_away
    candidates = read - bound - set(dir(builtins))
    return candidates - _original_free_names(file.parsed) if candidates else candidates


_FREE_NAMES: dict[int, tuple[ParsedSource, frozenset[str]]] = {}


def _original_free_names(parsed: ParsedSource) -> frozenset[str]:
    """The free names of an original file, from the scopes its parse resolved; once per parse (parses are cached
    per file), since scope analysis of a modeling file is slow."""
    if id(parsed) not in _FREE_NAMES:
        _FREE_NAMES[id(parsed)] = (parsed, frozenset(unbound_names(parsed.scopes)))
    return _FREE_NAMES[id(parsed)][1]
