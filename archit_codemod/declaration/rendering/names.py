"""The global names a generated module uses, and how each one gets bound: an import or a copied definition.

Names used by a copied ``__init__`` are resolved with LibCST's scope analysis on the file the ``__init__``
comes from: a name bound by an import there is bound to the same object; a name defined at that module's top
level is imported from that module, or copied verbatim when the module is the traced script (which no one can
import). A session's globals (a notebook's) are bound as the latest cell that binds them does: the binding in
effect, whichever cell reads them. Names introduced by rendering (``nn.Linear``, ``torch.float16``, a script
class) are bound from the live object. Every name is bound once; two different objects under one name are a
:class:`DeclarationError`.

One rule decides where an import comes from, whichever way the name was found: a class or a function is
imported from the shortest public package that exports the very same object (``from transformers import
BertConfig``, ``from torch.nn import CrossEntropyLoss``), else from the module that defines it
(``from transformers.models.bert.modeling_bert import BertSelfOutput``); a module, or another object
(``ACT2FN``), is imported as the original file imports it, relative imports made absolute. A module's
logger (``logger = logging.get_logger(__name__)``) is not imported: the statement is copied, so the
generated module logs under its own name.
"""

from __future__ import annotations

import ast
import builtins
import functools
import importlib
import inspect
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import libcst as cst
import libcst.matchers as m
from libcst.metadata import MetadataWrapper, Scope, ScopeProvider
from libcst.metadata.scope_provider import ImportAssignment
from torch import nn

from archit_codemod.declaration.editing.layout import LINE_LENGTH
from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.importability import beside_script
from archit_codemod.declaration.script import ScriptSource
from archit_codemod.declaration.sources.locate import ParsedSource, absolute_module, module_source
from archit_codemod.declaration.sources.session import source_not_kept
from archit_codemod.declaration.sources.wrapped import reached_functions


@dataclass(frozen=True)
class ImportBinding:
    """``import module [as name]`` (``attr is None``) or ``from module import attr [as name]``."""

    name: str
    module: str
    attr: str | None = None

    def resolve(self) -> Any:
        """The object this import binds (the modules involved are imported already, or importable)."""
        if self.attr is not None:
            module = importlib.import_module(self.module)
            if hasattr(module, self.attr):
                return getattr(module, self.attr)
            return importlib.import_module(f"{self.module}.{self.attr}")
        if self.name == self.module.split(".")[0] and "." in self.module:
            importlib.import_module(self.module)
            return sys.modules[self.name]
        return importlib.import_module(self.module)

    def statement(self) -> str:
        if self.attr is not None:
            alias = "" if self.name == self.attr else f" as {self.name}"
            return f"from {self.module} import {self.attr}{alias}"
        if self.name == self.module or self.name == self.module.split(".")[0]:
            return f"import {self.module}"
        return f"import {self.module} as {self.name}"


@dataclass(frozen=True)
class ScriptDefinition:
    """A top-level statement of the traced script copied verbatim (a class, a function, a constant).

    ``module`` is "" for the script itself, else the module beside the script it comes from. ``source`` is the
    position of the script's source that holds it among the script's sources (a session's cells, in the order
    they ran; see :meth:`ScriptSource.order_of`), ``line`` its line there.
    """

    name: str
    statement: cst.CSTNode
    line: int
    module: str = ""
    source: int = 0

    @property
    def order(self) -> tuple[bool, str, int, int]:
        """Where the copy goes: definitions of modules beside the script (which the script's may use) first, then
        the script's in the order they ran."""
        return (self.module == "", self.module, self.source, self.line)


def free_names(node: cst.CSTNode) -> set[str]:
    """Names that ``node`` (a class or function definition, a statement) reads but does not bind itself."""
    module = node if isinstance(node, cst.Module) else cst.Module(body=[node])
    # No copy of the tree: only names are read from the scopes, never a node's metadata, so a node that occurs twice
    # (a rendered value placed at two statements) does no harm.
    return unbound_names(MetadataWrapper(module, unsafe_skip_copy=True).resolve(ScopeProvider))


@functools.lru_cache(maxsize=256)
def original_free_names(node: cst.CSTNode) -> frozenset[str]:
    """:func:`free_names` of a node of a parsed source file, which stays as parsed: asked once per node (a class
    changed in every layer differently copies one ``__init__`` into as many generated classes)."""
    return frozenset(free_names(node))


class GeneratedClassReads:
    """:func:`free_names` of each generated class, other than the generated classes' own names, worked out once per
    shape of class: classes that differ only in numbers and in the generated classes they name read the same globals.

    A class changed differently in every layer (another LoRA rank per layer) is generated once per layer; scope
    analysis costs as much as the class is long, and would be most of the cost of each further class. Numbers and
    generated names never hold a global's name, so replacing them in the class's code keeps what it reads: a number
    is a token of digits that no word character precedes (``layers2`` is a name, ``2`` is not), a generated name a
    whole word.
    """

    _NUMBER = re.compile(r"(?<![\w.])\d[\w.]*(?:[eE][+-]\d+)?")

    def __init__(self, generated: set[str] | frozenset[str]) -> None:
        self._generated = frozenset(generated)
        words = "|".join(sorted(map(re.escape, self._generated), key=len, reverse=True))
        self._generated_word = re.compile(rf"\b(?:{words})\b") if words else None
        self._by_shape: dict[str, frozenset[str]] = {}

    def __call__(self, class_def: cst.ClassDef) -> frozenset[str]:
        """The names ``class_def`` reads and does not bind, the generated classes' names left out."""
        shape = self._NUMBER.sub("0", cst.Module(body=[class_def]).code)
        if self._generated_word is not None:
            shape = self._generated_word.sub("_generated_", shape)
        if shape not in self._by_shape:
            self._by_shape[shape] = frozenset(free_names(class_def) - self._generated)
        return self._by_shape[shape]


def unbound_names(scopes: Mapping[cst.CSTNode, Scope | None]) -> set[str]:
    """Names read in ``scopes`` (a module's resolved ``ScopeProvider``) that nothing in that module binds."""
    found: set[str] = set()
    for scope in {id(scope): scope for scope in scopes.values() if scope is not None}.values():
        for access in scope.accesses:
            if not access.referents and isinstance(access.node, cst.Name):
                found.add(access.node.value)
    return found


class NameTable:
    """Every name the generated module binds at its top level, each bound once.

    A module beside the script that is not importable from where the output goes
    (``script.provenance.output_folder``; see :mod:`~archit_codemod.declaration.importability`) is treated like
    the script: the definitions used from it are copied.
    """

    def __init__(self, script: ScriptSource | None = None):
        self.script = script if script is not None else ScriptSource()
        self.copied_from_helpers: dict[str, Any] = {}
        """Name -> the object of a module beside the script whose definition is copied."""
        self._beside: dict[str, bool] = {}
        self.imports: dict[str, ImportBinding] = {}
        self.script_definitions: dict[str, ScriptDefinition] = {}
        self.copied_statements: dict[str, cst.SimpleStatementLine] = {}
        """Module-level statements of a library module copied into the generated module (its logger)."""
        self.local: set[str] = set()
        self._objects: dict[str, Any] = {}

    def copy(self) -> NameTable:
        """An independent table with the same bindings (an emitter extends its own copy of the plan's)."""
        table = NameTable(self.script)
        table.copied_from_helpers = dict(self.copied_from_helpers)
        table._beside = dict(self._beside)
        table.imports = dict(self.imports)
        table.script_definitions = dict(self.script_definitions)
        table.copied_statements = dict(self.copied_statements)
        table.local = set(self.local)
        table._objects = dict(self._objects)
        return table

    def restore(self, earlier: NameTable) -> None:
        """Take back every binding made since ``earlier`` (a :meth:`copy` of this table): a rendering that was given
        up binds nothing."""
        vars(self).update(vars(earlier.copy()))

    # -- binding -----------------------------------------------------------------------------------------

    def reserve_local(self, name: str) -> None:
        """A class the generated module defines itself."""
        if name in self.imports or name in self.script_definitions:
            raise DeclarationError(f"The generated class name {name} is already bound to an imported name.")
        self.local.add(name)

    def is_taken(self, name: str) -> bool:
        return (
            name in self.local
            or name in self.imports
            or name in self.script_definitions
            or name in self.copied_statements
        )

    def _claim(self, name: str, obj: Any, where: str) -> bool:
        """Record that ``name`` means ``obj``; False when it is bound already to the same object."""
        if name in self.local:
            raise DeclarationError(
                f"{where} needs the name {name}, which is also the name of a generated class. "
                "Fix: choose another --suffix."
            )
        if name in self._objects:
            if self._objects[name] is not obj:
                raise DeclarationError(
                    f"{where} needs the name {name} for {_describe(obj)}, but the generated module already "
                    f"binds {name} to {_describe(self._objects[name])}. Fix: rename one of them in your code."
                )
            return False
        self._objects[name] = obj
        return True

    def add_import(self, binding: ImportBinding, where: str) -> None:
        if self._beside_script(binding.module):
            self._copy_from_helper(binding, where)
            return
        obj = binding.resolve()
        if self._claim(binding.name, obj, where):
            self.imports[binding.name] = binding

    def _beside_script(self, module_name: str) -> bool:
        if module_name not in self._beside:
            folder = self.script.path.parent if self.script.path is not None else None
            output_folder = self.script.provenance.output_folder
            self._beside[module_name] = beside_script(module_name, folder, output_folder)
        return self._beside[module_name]

    def _copy_from_helper(self, binding: ImportBinding, where: str) -> None:
        """Bind ``binding`` from a module beside the script by copying its definition (see ``importability``)."""
        obj = binding.resolve()
        if binding.attr is None or (inspect.ismodule(obj) and self._beside_script(obj.__name__)):
            module = obj.__name__ if inspect.ismodule(obj) else binding.module
            raise DeclarationError(
                f"{where} uses the module {module} as a whole, which sits beside the script and is importable "
                "only from the script's folder, not from where the generated file goes. Fix: import the names "
                f"you use (`from {module} import Name`), or make {module} importable (install it, or put its "
                "folder on PYTHONPATH)."
            )
        home = getattr(obj, "__module__", None) if inspect.isclass(obj) or inspect.isfunction(obj) else None
        if inspect.ismodule(obj) or (
            home is not None and home != binding.module and not self._beside_script(home)
        ):
            # Re-exported from elsewhere (`from helpers import nn`): bind it where it really lives.
            self.reference_as(binding.name, obj, where)
            return
        parsed = module_source(home or binding.module)
        name = getattr(obj, "__name__", binding.attr) if home is not None else binding.attr
        if name != binding.name:
            raise DeclarationError(
                f"{where} uses {binding.name}, imported as `from {binding.module} import {binding.attr} as "
                f"{binding.name}` from a module beside the script, whose definition is copied under its own name. "
                f"Fix: import it without `as`, or make {binding.module} importable."
            )
        if not self._claim(name, obj, where):
            return
        statement, line = _top_level_definition(parsed, name, where)
        self.script_definitions[name] = ScriptDefinition(name, statement, line, parsed.module_name)
        self.copied_from_helpers[name] = obj
        self.require_names(free_names(statement), parsed, where=f"{name} (copied from {parsed.path})")

    def reference_as(self, name: str, obj: Any, where: str) -> None:
        """Bind ``name`` to ``obj`` (a module, class or function) with an import from where it lives."""
        if inspect.ismodule(obj):
            parent, _, leaf = obj.__name__.rpartition(".")
            binding = ImportBinding(name, parent, leaf) if parent else ImportBinding(name, obj.__name__)
        else:
            binding = _public_binding(ImportBinding(name, obj.__module__, obj.__qualname__))
        self.add_import(binding, where)

    def add_script_definition(self, name: str, where: str) -> None:
        parsed = self._script_source_of(name)
        if parsed is None:
            raise DeclarationError(
                f"{where} needs {name}, which no cell of the session binds at its top level (it was bound by "
                "exec(), globals() or a loop). Fix: define it with a top-level `class`, `def` or assignment in a "
                "cell, or import it from a module."
            )
        bindings = [a for a in parsed.global_scope[name] if a.scope is parsed.global_scope]
        if bindings and all(isinstance(a, ImportAssignment) for a in bindings):
            # Imported by the script (from a module beside it, or a library): bound as the script binds it.
            self.require_name(name, parsed, where)
            return
        obj = self.script.namespace.get(name, _Unknown(name))
        if not self._claim(name, obj, where):
            return
        statement, line = _top_level_definition(parsed, name, where)
        if inspect.isclass(obj) and not _defined_by(obj, statement, parsed):
            raise DeclarationError(
                f"{where} needs the script class {name}, but the last top-level definition of {name} in "
                f"{parsed.path} (line {line}) is not the one that built the traced class. "
                "Fix: give each class its own name in the script."
            )
        self.script_definitions[name] = ScriptDefinition(
            name, statement, line, source=self.script.order_of(parsed)
        )
        # What the copied definition itself reads must be bound too.
        self.require_names(free_names(statement), parsed, where=f"{name} (copied from {parsed.path})")

    def _script_source_of(self, name: str) -> ParsedSource | None:
        """The script's source whose top-level binding of ``name`` is in effect: the script's file; in a session,
        the cell that defined the class or function the name holds, else the latest cell whose binding gives the
        name's value (an import of the very object, or any other statement)."""
        if not self.script.is_session:
            return self.script.parsed()
        live = self.script.namespace.get(name, _MISSING)
        if (inspect.isclass(live) or inspect.isfunction(live)) and self.script.owns(live):
            source = self.script.source_of(live)
            if source is not None and any(a.scope is source.global_scope for a in source.global_scope[name]):
                return source
        for source in self.script.sources_binding(name):
            assignments = [a for a in source.global_scope[name] if a.scope is source.global_scope]
            imports = [a for a in assignments if isinstance(a, ImportAssignment)]
            if live is _MISSING:
                return source
            if len(imports) < len(assignments):
                # A cell run again unchanged keeps its place among the sources: one whose literal is not the
                # session's value is not the cell that ran last.
                if not _assigns_another_literal(source, name, live):
                    return source
            elif _binding_of(live, source, imports, name) is not None:
                return source
        return None

    def _copy_statement(
        self, name: str, statement: cst.SimpleStatementLine, parsed: ParsedSource, where: str
    ) -> None:
        copied = self.copied_statements.get(name)
        if copied is not None and copied.deep_equals(statement.with_changes(leading_lines=[])):
            # `logger = logging.get_logger(__name__)` of two files: one copy binds the same in the generated
            # module, provided `logging` means the same in both (checked below).
            pass
        elif not self._claim(name, getattr(sys.modules.get(parsed.module_name), name, _Unknown(name)), where):
            return
        self.copied_statements[name] = statement.with_changes(leading_lines=[])
        self.require_names(
            free_names(statement) - {"__name__"}, parsed, where=f"{name} (copied from {parsed.path})"
        )

    # -- resolution --------------------------------------------------------------------------------------

    def require_names(self, names: set[str], parsed: ParsedSource, where: str) -> None:
        """Bind each of ``names`` as the file ``parsed`` binds it."""
        for name in sorted(names):
            if name in self.local:
                continue
            self.require_name(name, parsed, where)

    def require_name(self, name: str, parsed: ParsedSource, where: str) -> None:
        is_script = parsed.module_name == self.script.module_name and (
            self.script.path is not None or self.script.is_session
        )
        if is_script and self.script.is_session:
            # A cell reads the session's global as the latest cell bound it (or as the live object is importable).
            in_effect = self._script_source_of(name)
            if in_effect is None and _importable_object(self.script.namespace.get(name)):
                self.reference_as(name, self.script.namespace[name], where)
                return
            parsed = in_effect or parsed
        assignments = [a for a in parsed.global_scope[name] if a.scope is parsed.global_scope]
        imports = [a for a in assignments if isinstance(a, ImportAssignment)]
        if len(assignments) > 1:
            # Several bindings (`if is_xlstm_available(): from xlstm import ...` then a fallback): the one in
            # effect is the object the live module holds.
            live = (
                self.script.namespace if is_script else vars(sys.modules.get(parsed.module_name) or object())
            )
            if name in live:
                binding = _binding_of(live[name], parsed, imports, name)
                if binding is None and not is_script:
                    binding = ImportBinding(name, parsed.module_name, name)
                if binding is not None:
                    self.add_import(_public_binding(binding), where)
                    return
        if imports and len(imports) == len(assignments):
            self.add_import(_public_binding(_import_binding(parsed, imports[-1], name)), where)
            return
        if assignments:
            if is_script:
                self.add_script_definition(name, where)
            elif (logger := _logger_statement(parsed, name)) is not None:
                self._copy_statement(name, logger, parsed, where)
            else:
                self.add_import(_public_binding(ImportBinding(name, parsed.module_name, name)), where)
            return
        star_module = _star_import_source(parsed, name)
        if star_module is not None:
            binding = ImportBinding(name, star_module, name)
            obj = binding.resolve()
            if inspect.ismodule(obj):
                # `nn` that a helper re-exports: import it from where it really is (`from torch import nn`).
                parent, _, leaf = obj.__name__.rpartition(".")
                binding = ImportBinding(name, parent, leaf) if parent else ImportBinding(name, obj.__name__)
            self.add_import(_public_binding(binding), where)
            return
        if hasattr(builtins, name):
            return
        # Bound some other way (a star import, globals()): import it from the module that has it.
        if not is_script and hasattr(sys.modules.get(parsed.module_name), name):
            self.add_import(ImportBinding(name, parsed.module_name, name), where)
            return
        raise DeclarationError(
            f"{where} uses the name {name}, which {parsed.path} does not bind at its top level. "
            "Fix: import or define it at the top level of that file."
        )

    def reference(self, obj: Any, where: str) -> cst.BaseExpression:
        """An expression naming ``obj`` (a class, function or module), with the import it needs."""
        if inspect.ismodule(obj):
            return self._module_reference(obj, where)
        module_name = getattr(obj, "__module__", None)
        qualname = getattr(obj, "__qualname__", None)
        if module_name is None or qualname is None or "<" in qualname:
            raise not_importable(obj, where)
        head = qualname.split(".")[0]
        if self.script.owns(obj):
            if _lookup_name(self.script.namespace, qualname) is not obj:
                raise DeclarationError(
                    f"{where}: {_describe(obj)} was defined in the script {self.script.path}, but the script's "
                    f"top-level name {head} is not bound to it (it is unbound or names another object, such as "
                    "another class of the same name), so the codemod cannot find its definition. Fix: give the class a top-level "
                    "name of its own in the script (or define it in an importable module)."
                )
            self.add_script_definition(head, where)
            return cst.parse_expression(qualname)
        if self._beside_script(module_name):
            self._copy_from_helper(ImportBinding(head, module_name, head), where)
            return cst.parse_expression(qualname)
        if module_name == "__main__":
            module_name = _importable_home(obj, qualname)
            if module_name is None:
                raise DeclarationError(f"{where}: {source_not_kept(qualname, obj)}")
        if _lookup(nn, qualname) is obj:
            self.add_import(ImportBinding("nn", "torch", "nn"), where)
            return cst.parse_expression(f"nn.{qualname}")
        public = _public_module(module_name, qualname, obj)
        binding = ImportBinding(head, public, head)
        try:
            found = (
                _lookup(binding.resolve(), qualname.partition(".")[2])
                if "." in qualname
                else binding.resolve()
            )
        except (ImportError, AttributeError):
            found = None
        if found is not obj:
            kind = "class" if inspect.isclass(obj) else "object"
            raise DeclarationError(
                f"{where}: the {kind} {qualname} has no importable definition: its module is {module_name!r}, "
                f"where the name {qualname} does not lead back to it (it was made by exec(), type() or a "
                "function, or its module is gone). Fix: define it with a `class` statement at the top level of "
                "an importable module or of the script, and use it from there."
            )
        self.add_import(binding, where)
        return cst.parse_expression(qualname)

    def _module_reference(self, module: Any, where: str) -> cst.BaseExpression:
        if module is nn:
            self.add_import(ImportBinding("nn", "torch", "nn"), where)
            return cst.Name("nn")
        name = module.__name__
        if "." not in name:
            self.add_import(ImportBinding(name, name), where)
            return cst.Name(name)
        parent, _, leaf = name.rpartition(".")
        self.add_import(ImportBinding(leaf, parent, leaf), where)
        return cst.Name(leaf)

    # -- output ------------------------------------------------------------------------------------------

    def import_lines(self) -> list[str]:
        """One line per imported module, sorted: plain imports first, then ``from`` imports."""
        plain = sorted({b.statement() for b in self.imports.values() if b.attr is None})
        grouped: dict[str, list[str]] = {}
        for binding in self.imports.values():
            if binding.attr is not None:
                alias = "" if binding.name == binding.attr else f" as {binding.name}"
                grouped.setdefault(binding.module, []).append(f"{binding.attr}{alias}")
        from_lines = []
        for module in sorted(grouped):
            line = f"from {module} import {', '.join(sorted(grouped[module]))}"
            if len(line) > LINE_LENGTH:
                items = "".join(f"    {name},\n" for name in sorted(grouped[module]))
                line = f"from {module} import (\n{items})"
            from_lines.append(line)
        return plain + from_lines


class _Unknown:
    def __init__(self, name: str):
        self.name = name


_MISSING = object()


_LITERAL_TYPES = (int, float, complex, str, bytes, bool, type(None), tuple, list, dict, set, frozenset)


def _assigns_another_literal(source: ParsedSource, name: str, live: Any) -> bool:
    """Whether the last top-level statement of ``source`` that binds ``name`` is ``name = <literal>`` with a
    value other than ``live``."""
    statement = next(
        (
            statement
            for statement in reversed(source.module.body)
            if m.matches(statement, _SIMPLE_ASSIGNMENT) and name in _assigned_names(statement.body[0])
        ),
        None,
    )
    if statement is None or not isinstance(live, _LITERAL_TYPES):
        return False
    try:
        literal = ast.literal_eval(source.module.code_for_node(statement.body[0].value))
        return type(literal) is not type(live) or bool(literal != live)
    except Exception:  # not a literal, or values that do not compare
        return False


def _importable_object(obj: Any) -> bool:
    """Whether ``obj`` is a module, or a class or function that a module other than ``__main__`` defines."""
    if inspect.ismodule(obj):
        return True
    if not (inspect.isclass(obj) or inspect.isfunction(obj)):
        return False
    module = getattr(obj, "__module__", None)
    return module not in (None, "__main__") and "<" not in obj.__qualname__


def not_importable(obj: Any, where: str) -> DeclarationError:
    """The refusal for a class or function that generated code cannot name: one defined inside a function
    (a closure, a class that a library creates at run time such as torch.fx's ``GraphModuleImpl``)."""
    if "<locals>" in (getattr(obj, "__qualname__", None) or ""):
        return DeclarationError(
            f"{where}: {_describe(obj)} is defined inside a function when it runs, so generated code cannot "
            "import it by name. Fix: define it at the top level of the script or of a module (pass what it "
            "uses from the function as constructor arguments), or make this change after building the model, "
            "in your own code."
        )
    return DeclarationError(
        f"{where}: {_describe(obj)} cannot be imported by name. Fix: give it a top-level name in the script or "
        "in an importable module."
    )


def _describe(obj: Any) -> str:
    if inspect.ismodule(obj):
        return f"module {obj.__name__}"
    if isinstance(obj, _Unknown):
        return f"a script global {obj.name}"
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if module and qualname:
        return f"{module}.{qualname}"
    return f"{type(obj).__name__} object"


def _binding_of(obj: Any, parsed: ParsedSource, imports: list, name: str) -> ImportBinding | None:
    """The import among ``imports`` (of ``name`` in ``parsed``) that binds ``obj``, the last one first."""
    for assignment in reversed(imports):
        try:
            binding = _import_binding(parsed, assignment, name)
            if binding.resolve() is obj:
                return binding
        except (ImportError, AttributeError, DeclarationError):
            continue
    return None


def _importable_home(obj: Any, qualname: str) -> str | None:
    """A module other than ``__main__`` that holds ``obj`` under ``qualname`` (``None`` when there is none)."""
    for name, module in list(sys.modules.items()):
        if name == "__main__" or module is None or name.startswith("_"):
            continue
        try:
            if _lookup(module, qualname) is obj:
                return name
        except Exception:  # a lazy module may fail on attribute access
            continue
    return None


def _lookup_name(namespace: dict[str, Any], qualname: str) -> Any:
    """The object a dotted ``qualname`` names in a module namespace (``None`` when it names nothing)."""
    head, _, rest = qualname.partition(".")
    obj = namespace.get(head)
    return _lookup(obj, rest) if rest and obj is not None else obj


def _defined_by(cls: type, statement: cst.CSTNode, parsed: ParsedSource) -> bool:
    """Whether ``statement`` (a script's top-level definition) built ``cls``: its methods lie in it."""
    if not isinstance(statement, cst.ClassDef):
        return True  # `Name = type(...)`, `Name = make()`: the namespace identity check decides
    position = parsed.positions_in(statement)[statement]
    # A class decorator may have put wrappers written elsewhere in place of the methods: the body's own
    # functions are those the wrappers reach that carry the class's qualified name.
    functions = [
        inspect.unwrap(function)
        for value in vars(cls).values()
        if inspect.isfunction(value)
        for function in reached_functions(value)
        if inspect.isfunction(function)
    ]
    lines = [
        function.__code__.co_firstlineno
        for function in functions
        if inspect.isfunction(function)
        and function.__qualname__.startswith(f"{cls.__qualname__}.")
        and Path(function.__code__.co_filename).resolve() == parsed.path
    ]
    return all(position.start.line <= line <= position.end.line for line in lines)


def _lookup(root: Any, qualname: str) -> Any:
    obj = root
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _public_module(module_name: str, qualname: str, obj: Any) -> str:
    """The shortest already-imported, non-private parent of ``module_name`` that exposes ``obj``."""
    parts = module_name.split(".")
    for end in range(1, len(parts)):
        candidate = ".".join(parts[:end])
        if any(part.startswith("_") for part in parts[:end]):
            break
        module = sys.modules.get(candidate)
        if module is None:
            continue
        try:
            if _lookup(module, qualname) is obj:
                return candidate
        except Exception:  # a lazy module may fail to import an unrelated optional part
            continue
    return module_name


def _public_binding(binding: ImportBinding) -> ImportBinding:
    """``binding`` following the module's one rule: a class or function from its shortest public package."""
    try:
        obj = binding.resolve()
    except (ImportError, AttributeError):
        return binding
    qualname = getattr(obj, "__qualname__", None)
    module_name = getattr(obj, "__module__", None)
    if inspect.ismodule(obj) or not (inspect.isclass(obj) or inspect.isfunction(obj)):
        return binding
    if not module_name or not qualname or "." in qualname or "<" in qualname:
        return binding
    if _lookup(sys.modules.get(module_name), qualname) is not obj:
        return binding
    return ImportBinding(binding.name, _public_module(module_name, qualname, obj), qualname)


_LOGGER = m.SimpleStatementLine(
    body=[
        m.Assign(
            targets=[m.AssignTarget(m.Name())],
            value=m.Call(
                func=m.Attribute(value=m.Name(), attr=m.Name("get_logger") | m.Name("getLogger")),
                args=[m.Arg(m.Name("__name__"), keyword=None)],
            ),
        )
    ]
)


def _logger_statement(parsed: ParsedSource, name: str) -> cst.SimpleStatementLine | None:
    """The top-level ``<name> = logging.get_logger(__name__)`` of ``parsed``, when that is how it binds ``name``."""
    found = [
        statement
        for statement in parsed.module.body
        if m.matches(statement, _LOGGER) and statement.body[0].targets[0].target.value == name
    ]
    bindings = [a for a in parsed.global_scope[name] if a.scope is parsed.global_scope]
    return found[0] if len(found) == 1 and len(bindings) == 1 else None


def _import_binding(parsed: ParsedSource, assignment: ImportAssignment, name: str) -> ImportBinding:
    node = assignment.node
    if isinstance(node, cst.Import):
        for alias in node.names:
            dotted = cst.Module([]).code_for_node(alias.name)
            bound = alias.asname.name.value if alias.asname is not None else dotted.split(".")[0]
            if bound == name:
                return ImportBinding(name, dotted)
    elif isinstance(node, cst.ImportFrom) and not isinstance(node.names, cst.ImportStar):
        module = absolute_module(parsed, node)
        for alias in node.names:
            imported = cst.Module([]).code_for_node(alias.name)
            bound = alias.asname.name.value if alias.asname is not None else imported
            if bound == name:
                return ImportBinding(name, module, imported)
    raise DeclarationError(f"Cannot understand how {parsed.path} imports {name}.")


def _star_import_source(parsed: ParsedSource, name: str) -> str | None:
    """The module whose top-level ``from module import *`` in ``parsed`` binds ``name`` (the last such), if any."""
    found = None
    for statement in parsed.module.body:
        if not m.matches(statement, m.SimpleStatementLine(body=[m.ImportFrom(names=m.ImportStar())])):
            continue
        module_name = absolute_module(parsed, statement.body[0])
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        public = getattr(module, "__all__", None)
        exported = name in public if public is not None else not name.startswith("_")
        if exported and hasattr(module, name):
            found = module_name
    return found


_DEFINITION = m.ClassDef() | m.FunctionDef()
_SIMPLE_ASSIGNMENT = m.SimpleStatementLine(body=[m.Assign() | m.AnnAssign()])


def _top_level_definition(parsed: ParsedSource, name: str, where: str) -> tuple[cst.CSTNode, int]:
    """The last top-level statement of the script that defines ``name`` (a class, function or assignment)."""
    found = None
    for statement in parsed.module.body:
        if m.matches(statement, _DEFINITION) and statement.name.value == name:
            found = statement
        elif m.matches(statement, _SIMPLE_ASSIGNMENT) and name in _assigned_names(statement.body[0]):
            found = statement
    if found is None:
        raise DeclarationError(
            f"{where} needs {name} from the script {parsed.path}, which binds it in a way the codemod "
            "cannot copy (not a top-level class, function or assignment: exec(), globals(), a loop...). "
            f"Fix: define {name} with a top-level `class`/`def` statement in the script, or move it to an "
            "importable module."
        )
    return found, parsed.positions_in(found)[found].start.line


def _assigned_names(assignment: cst.Assign | cst.AnnAssign) -> set[str]:
    targets = (
        [t.target for t in assignment.targets] if isinstance(assignment, cst.Assign) else [assignment.target]
    )
    return {t.value for t in targets if isinstance(t, cst.Name)}
