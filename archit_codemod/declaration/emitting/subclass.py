"""The subclass emitter: one module with ``class <Name><Suffix>(<Name>)`` per planned class.

Each class re-declares only ``__init__``: the original's (with the ancestor bodies it inlines), edited as planned,
with ``super()`` turned into ``super(<Original>, self)`` so that the original body does not run first, and private
names written as the original class stores them. Everything else is inherited. The module imports what the copied
bodies and the rendered expressions read, and copies the script's own definitions they use; it postpones the
evaluation of annotations (``from __future__ import annotations``) when a file it copies from does, whose annotations
were written not to be evaluated (diffusers' ``processor: "AttnProcessor" | None``).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor

from archit_codemod.declaration.editing.edits import apply_in_place
from archit_codemod.declaration.editing.layout import LayoutRewritten, layout_statement, wrapped_import
from archit_codemod.declaration.editing.subclass import prepare_for_subclass
from archit_codemod.declaration.emitting.decorated import carried_decorators, inherited_again
from archit_codemod.declaration.emitting.header import change_list, header_lines
from archit_codemod.declaration.emitting.init_body import CLASS_INDENT, build_init
from archit_codemod.declaration.emitting.output import GeneratedFile, Output
from archit_codemod.declaration.emitting.vendor_file import AbsoluteImports
from archit_codemod.declaration.planning.plan import ClassPlan, Plan
from archit_codemod.declaration.rendering.names import GeneratedClassReads, NameTable, original_free_names
from archit_codemod.declaration.sources.locate import module_source


def emit_subclass(plan: Plan) -> Output:
    """The subclass module that declares ``plan``."""
    names = plan.names.copy()
    reads = GeneratedClassReads({class_plan.name for class_plan in plan.classes})
    class_defs: list[cst.BaseStatement] = []
    for class_plan in plan.classes:
        class_def = subclass_def(class_plan, names)
        _bind_free_names(class_plan, reads(class_def), names)
        class_defs += [class_def, *inherited_again(class_plan)]
    header = header_lines(plan.script.shown_path, list(plan.roots), change_list(plan))
    source = assemble(
        names, class_defs, header, postponed_annotations=_copies_postponed_annotations(plan, names)
    )
    stem = _module_name(plan)
    return Output(
        mode="subclass",
        files=(GeneratedFile(f"{stem}.py", source),),
        roots={root: (stem, class_plan.name) for root, class_plan in plan.roots.items()},
        classes={class_plan.name: (class_plan.original, stem) for class_plan in plan.classes},
        warnings=(*plan.warnings, *plan.script.warnings),
        copied_classes=copied_classes(names),
        replays=plan.replays,
    )


def copied_classes(*tables: NameTable) -> dict[str, type]:
    """Name -> class, for each class of a module beside the script that ``tables`` copy into the output."""
    return {
        name: obj
        for table in tables
        for name, obj in table.copied_from_helpers.items()
        if inspect.isclass(obj)
    }


def _module_name(plan: Plan) -> str:
    shown = plan.script.shown_path
    stem = f"{shown.stem}_declared" if shown is not None else "declared"
    return stem if stem.isidentifier() else "declared"


def subclass_def(plan: ClassPlan, names: NameTable) -> cst.ClassDef:
    """``class <plan.name>(<original>)`` with the docstring, the members and the edited ``__init__``."""
    original = plan.original
    paths = ", ".join(str(instance) for instance in plan.instances[:3])
    base = names.reference(original, f"{paths}: the generated subclass of {original.__qualname__}")

    def rewrite_part(level: int, source, function: cst.FunctionDef) -> cst.FunctionDef:
        # A relative import inside the body (`from ..auto import AutoModel`) names the original's package.
        edited = apply_in_place(function, plan.edits, also=[AbsoluteImports(source.parsed)])
        return prepare_for_subclass(source, edited)

    if only_extends(plan):
        init = extension_init(plan)
    else:
        init = build_init(plan, rewrite_part)
    init = init.with_changes(
        leading_lines=[cst.EmptyLine(indent=False)] + [line for line in init.leading_lines if line.comment]
    )
    attributes = [m.statement for m in plan.members if isinstance(m.statement, cst.SimpleStatementLine)]
    methods = [m.statement for m in plan.members if not isinstance(m.statement, cst.SimpleStatementLine)]
    body: list[cst.BaseStatement] = [cst.parse_statement(f'"""{plan.docstring}"""')]
    body += [layout_statement(statement, CLASS_INDENT) for statement in attributes]
    body += [init, *methods]
    return cst.ClassDef(
        name=cst.Name(plan.name),
        bases=[cst.Arg(base)],
        body=cst.IndentedBlock(body),
        decorators=carried_decorators(plan),
        leading_lines=[cst.EmptyLine(), cst.EmptyLine()],
    )


def only_extends(plan: ClassPlan) -> bool:
    """Whether ``plan`` only adds statements at the end of the original ``__init__`` (after ``post_init``, or where
    there is none), so that calling the original and then them is the same ``__init__``."""
    if not plan.edits:
        return False
    if any(edit.placement == "in place" for edit in plan.edits):
        return False
    if all(edit.placement == "after __init__" for edit in plan.edits):
        return True
    source = plan.init.fragments[0]
    body = source.init_def.body.body
    post_init = m.SimpleStatementLine(
        body=[m.Expr(m.Call(func=m.Attribute(value=m.Name(source.self_name), attr=m.Name("post_init"))))]
    )
    return len(plan.init.fragments) == 1 and not (body and m.matches(body[-1], post_init))


def extension_init(plan: ClassPlan) -> cst.FunctionDef:
    """An ``__init__`` that runs the original one, then the plan's statements: nothing of the body changes.

    def __init__(self, config):
        super().__init__(config)
        inject_adapter_in_model(LoraConfig(r=4, target_modules={"query", "value"}), self)
    """
    original = plan.init.fragments[0].init_def
    params = original.params
    arguments = [cst.Arg(cst.Name(p.name.value)) for p in [*params.posonly_params, *params.params][1:]]
    if isinstance(params.star_arg, cst.Param):
        arguments.append(cst.Arg(cst.Name(params.star_arg.name.value), star="*"))
    arguments += [
        cst.Arg(cst.Name(p.name.value), keyword=cst.Name(p.name.value), equal=_TIGHT_EQUAL)
        for p in params.kwonly_params
    ]
    if params.star_kwarg is not None:
        arguments.append(cst.Arg(cst.Name(params.star_kwarg.name.value), star="**"))
    separated = [
        a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for a in arguments[:-1]
    ]
    call = cst.parse_expression("super().__init__()").with_changes(args=[*separated, *arguments[-1:]])
    body = [cst.SimpleStatementLine([cst.Expr(call)])]
    body += [edit.statement for edit in plan.edits if edit.placement != "in place"]
    function = cst.FunctionDef(
        name=cst.Name("__init__"),
        params=params,
        body=cst.IndentedBlock(body),
        returns=original.returns,
        whitespace_before_params=original.whitespace_before_params,
    )
    return function.visit(LayoutRewritten(set(), indent=CLASS_INDENT))


_TIGHT_EQUAL = cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace(""))


def _bind_free_names(plan: ClassPlan, read_by_class: frozenset[str], names: NameTable) -> None:
    """Bind every global the generated class reads (``read_by_class``) as the file it was copied from binds it."""
    fragments = plan.init.fragments
    reads = [(fragment, original_free_names(fragment.init_def)) for fragment in fragments]
    where = f"{plan.name} (copy of {fragments[0].definer.__qualname__}.__init__)"
    for name in sorted(read_by_class):
        if name in names.local:
            continue
        readers = [fragment for fragment, read in reads if name in read]
        readers = readers or [fragment for fragment in fragments if fragment.definer.__name__ == name]
        if not readers:
            parsed = fragments[0].parsed
            bound_in_source = any(a.scope is parsed.global_scope for a in parsed.global_scope[name])
            if names.is_taken(name) and not bound_in_source:
                continue  # introduced by rendering, bound already
            readers = [fragments[0]]
        for fragment in readers:
            names.require_name(name, fragment.parsed, where)


def _copies_postponed_annotations(plan: Plan, names: NameTable) -> bool:
    """Whether code the module copies (an ``__init__``, a definition of the script or of a module beside it) comes
    from a file that imports ``from __future__ import annotations``."""
    sources = [fragment.parsed for class_plan in plan.classes for fragment in class_plan.init.fragments]
    sources += [
        plan.script.parsed() if definition.module == "" else module_source(definition.module)
        for definition in names.script_definitions.values()
    ]
    return any(
        postpones_annotations(parsed.module)
        for parsed in {parsed.path: parsed for parsed in sources}.values()
    )


_POSTPONED_ANNOTATIONS = m.SimpleStatementLine(
    body=[
        m.ImportFrom(
            module=m.Name("__future__"),
            names=[m.ZeroOrMore(), m.ImportAlias(name=m.Name("annotations")), m.ZeroOrMore()],
        )
    ]
)


def postpones_annotations(module: cst.Module) -> bool:
    """Whether ``module`` imports ``from __future__ import annotations`` (its annotations are never evaluated)."""
    return any(m.matches(statement, _POSTPONED_ANNOTATIONS) for statement in module.body)


def assemble(
    names: NameTable,
    class_defs: Sequence[cst.BaseStatement],
    header: Sequence[str],
    *,
    postponed_annotations: bool = False,
) -> str:
    """The module: header, imports (``from __future__ import annotations`` first, when ``postponed_annotations``),
    copied statements, the script's definitions in script order, the classes."""
    comments = [cst.EmptyLine(comment=cst.Comment(line)) for line in header]
    body: list[cst.BaseStatement] = []
    for index, statement in enumerate(names.copied_statements.values()):
        body.append(statement.with_changes(leading_lines=[cst.EmptyLine()] if index == 0 else []))
    definitions = sorted(names.script_definitions.values(), key=lambda d: d.order)
    for node in [d.statement for d in definitions] + list(class_defs):
        kept = [line for line in node.leading_lines if line.comment is not None]
        body.append(node.with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine(), *kept]))
    return add_imports(cst.Module(body=body, header=comments), names, postponed_annotations).code


def add_imports(module: cst.Module, names: NameTable, postponed_annotations: bool = False) -> cst.Module:
    """``module`` with the imports ``names`` needs, added by LibCST's ``AddImportsVisitor``.

    The visitor sorts and merges them deterministically; it leaves line length and the blank lines around them to
    the caller, so long ``from`` imports are wrapped here as ruff would wrap them, and the imports are separated
    from the header by one blank line and from the first definition by two.
    """
    context = CodemodContext()
    if postponed_annotations:
        AddImportsVisitor.add_needed_import(context, "__future__", "annotations")
    for binding in names.imports.values():
        alias = (
            None
            if binding.name in (binding.attr, binding.module, binding.module.split(".")[0])
            else binding.name
        )
        AddImportsVisitor.add_needed_import(context, binding.module, binding.attr, alias)
    # The generated body binds no name by an import statement of its own (every import is in ``names``), so the
    # visitor is run on the header alone: it would only copy and walk the classes to find no import among them.
    imports = list(
        AddImportsVisitor(context).transform_module(cst.Module(body=[], header=module.header)).body
    )
    body = [*imports, *module.body]
    for index in range(len(imports)):
        statement = body[index]
        if m.matches(statement, m.SimpleStatementLine(body=[m.ImportFrom()])):
            statement = statement.with_changes(body=[wrapped_import(statement.body[0])])
        # The __future__ import is a section of its own, as isort and ruff keep it.
        apart = index == 0 or (index == 1 and postponed_annotations)
        body[index] = statement.with_changes(leading_lines=[cst.EmptyLine()] if apart else [])
    return module.with_changes(body=body)
