"""Find the source of a class: its file, its parsed module, its ``ClassDef`` and its ``__init__``.

Classes from importable modules are found with :func:`inspect.getsourcefile`. Classes defined in the
traced script are not importable once the script's ``__main__`` is gone: their module name is the trace's
``script_module_name``, and their source is the script's file, or, for a session (a notebook, a REPL), the cell
their code was compiled from (:class:`~archit_codemod.declaration.script.ScriptSource` says which). Parsed
modules are cached per file, and per text for a source kept only in memory (:mod:`.session`).

Positions (lines) are resolved per top-level statement, when first asked for: a modeling file of a thousand
lines costs more to resolve whole than to parse, and the codemod needs the lines of a few classes of it.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import libcst as cst
from libcst.metadata import (
    CodePosition,
    CodeRange,
    GlobalScope,
    MetadataWrapper,
    PositionProvider,
    Scope,
    ScopeProvider,
)

from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.sources.session import source_not_kept
from archit_codemod.declaration.sources.wrapped import is_function_like, layers_between, reached_functions

if TYPE_CHECKING:
    from archit_codemod.declaration.script import ScriptSource


_NEWLINE = re.compile(r"\r\n?|\n")
"""A line break as LibCST's position provider counts them."""

_DECLARES_GLOBAL = re.compile(r"^[ \t]+global[ \t]", re.MULTILINE)
"""A ``global`` statement inside a function or class (it binds a global name from there)."""


def _name_only(statement: cst.BaseStatement) -> cst.BaseStatement:
    """A top-level class or function as only the name it binds (``class Name: ...``, ``def name(): ...``): what
    the global scope needs of it. Any other statement as it is."""
    if isinstance(statement, cst.ClassDef):
        return cst.ClassDef(name=statement.name, body=cst.SimpleStatementSuite([cst.Expr(cst.Ellipsis())]))
    if isinstance(statement, cst.FunctionDef):
        return cst.FunctionDef(
            name=statement.name,
            params=cst.Parameters(),
            body=cst.SimpleStatementSuite([cst.Expr(cst.Ellipsis())]),
        )
    return statement


@dataclass(frozen=True)
class ParsedSource:
    """One parsed source file with the metadata the codemod needs (scopes, and positions per statement)."""

    path: Path
    """The file, resolved; for a source kept only in memory, the name code compiled from it carries
    (``co_filename``), resolved as a file's would be, so that the two compare alike."""
    module_name: str
    package: str | None
    wrapper: MetadataWrapper
    declares_global: bool = False
    """Whether a function or class of the file declares a ``global`` (binds a global name from inside it)."""
    in_memory: bool = False
    """Whether the text is only in :mod:`linecache` (a notebook cell, a REPL's input), not in a file."""
    _positions: dict[int, Mapping[cst.CSTNode, CodeRange]] = field(
        default_factory=dict, compare=False, repr=False
    )
    _first_lines: dict[int, int] = field(default_factory=dict, compare=False, repr=False)
    """Line of each top-level statement read so far, in order (see :meth:`_first_line_of`)."""

    @property
    def module(self) -> cst.Module:
        return self.wrapper.module

    @functools.cached_property
    def scopes(self) -> Mapping[cst.CSTNode, Scope | None]:
        """Every scope of the file, with every access: what finding each reference to a name needs."""
        return self.wrapper.resolve(ScopeProvider)

    @functools.cached_property
    def global_scope(self) -> GlobalScope:
        """The module's global scope, for what each top-level name is bound to (not for references to it).

        Resolved on an outline of the module, each top-level class and function reduced to the name it binds
        (:func:`_name_only`): their bodies are most of a modeling file's scope analysis, and bind no global name
        unless one declares it ``global`` (then, as when :attr:`scopes` is resolved already, the whole module is).
        """
        if "scopes" in self.__dict__ or self.declares_global:
            return self.scopes[self.module]
        outline = self.module.with_changes(body=[_name_only(statement) for statement in self.module.body])
        return MetadataWrapper(outline, unsafe_skip_copy=True).resolve(ScopeProvider)[outline]

    def positions_in(self, statement: cst.CSTNode) -> Mapping[cst.CSTNode, CodeRange]:
        """The positions in the file of ``statement`` (a top-level statement of the module) and of every node in it,
        as LibCST's ``PositionProvider`` gives them for the whole module."""
        key = id(statement)
        if key not in self._positions:
            first_line = self._first_line_of(statement)
            alone = self.module.with_changes(
                body=[statement], header=[], footer=[], has_trailing_newline=True
            )
            relative = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
            self._positions[key] = _Shifted(relative, first_line - 1, alone)
        return self._positions[key]

    def _first_line_of(self, statement: cst.CSTNode) -> int:
        """The line the code of top-level ``statement`` (its leading empty lines and comments included) starts on.

        The statements before it are generated once, and only as far as needed."""
        body = self.module.body
        while id(statement) not in self._first_lines and len(self._first_lines) < len(body):
            read = len(self._first_lines)
            if read == 0:
                line = 1 + len(self.module.header)
            else:
                previous = body[read - 1]
                line = self._first_lines[id(previous)] + len(
                    _NEWLINE.findall(self.module.code_for_node(previous))
                )
            self._first_lines[id(body[read])] = line
        if id(statement) not in self._first_lines:
            raise ValueError(f"not a top-level statement of {self.path}")
        return self._first_lines[id(statement)]


class _Shifted(Mapping):
    """Positions resolved on a module of one statement, read as lines of the whole file (shifted on access)."""

    def __init__(self, relative: Mapping[cst.CSTNode, CodeRange], lines: int, alone: cst.Module):
        self._relative = relative
        self._lines = lines
        self._alone = alone

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        if node is self._alone:
            raise KeyError(node)
        position = self._relative[node]
        start, end = position.start, position.end
        return CodeRange(
            CodePosition(start.line + self._lines, start.column),
            CodePosition(end.line + self._lines, end.column),
        )

    def __contains__(self, node: object) -> bool:
        return node is not self._alone and node in self._relative

    def __iter__(self):
        return (node for node in self._relative if node is not self._alone)

    def __len__(self) -> int:
        return len(self._relative) - 1


@dataclass(frozen=True)
class ClassSource:
    """Where a class's ``__init__`` is written: the class in the MRO that defines it (``definer``)."""

    cls: type
    definer: type
    parsed: ParsedSource
    top: cst.CSTNode
    """The top-level statement of the module that holds ``class_def`` (itself, unless under an ``if``/``try``)."""
    class_def: cst.ClassDef
    init_def: cst.FunctionDef
    namespace: dict[str, Any]
    """The globals of the definer's module (the script's namespace for script classes)."""
    runs_a_wrapper: bool = False
    """Whether ``cls`` runs a wrapper of ``init_def`` that a decorator put in its place: calling the class's
    ``__init__`` does more than ``init_def``'s body (so that body cannot be inlined in its place)."""
    wrapping_decorators: tuple[cst.Decorator, ...] = ()
    """The class decorators that made that wrapper, which a class re-declaring ``__init__`` carries."""
    rewrapped_members: tuple[str, ...] = ()
    """The other members those decorators put in place, which a subclass carrying them inherits instead (see
    :func:`_rewrapped_members`)."""

    @property
    def positions(self) -> Mapping[cst.CSTNode, CodeRange]:
        """The positions in the file of the class and of every node in it."""
        return self.parsed.positions_in(self.top)

    @property
    def self_name(self) -> str:
        """The name of ``__init__``'s first parameter (``self`` in practice)."""
        params = self.init_def.params.params or self.init_def.params.posonly_params
        return params[0].name.value if params else "self"


@functools.lru_cache(maxsize=64)
def _parse(path: Path, mtime: float, module_name: str, package: str | None) -> ParsedSource:
    # mtime is part of the cache key so an edited file is parsed again.
    del mtime
    return _parsed(path, path.read_text(encoding="utf-8"), module_name, package, in_memory=False)


@functools.lru_cache(maxsize=256)
def _parse_in_memory(name: str, text: str, module_name: str) -> ParsedSource:
    # The text is part of the key: a REPL may compile other code under a name it used before.
    return _parsed(Path(name).resolve(), text, module_name, None, in_memory=True)


def _parsed(path: Path, text: str, module_name: str, package: str | None, *, in_memory: bool) -> ParsedSource:
    return ParsedSource(
        path=path,
        module_name=module_name,
        package=package,
        # A tree just parsed is shared with nothing: the wrapper needs no copy of it (a whole file's deep copy).
        wrapper=MetadataWrapper(cst.parse_module(text), unsafe_skip_copy=True),
        declares_global=_DECLARES_GLOBAL.search(text) is not None,
        in_memory=in_memory,
    )


def parse_source(path: Path, module_name: str, package: str | None = None) -> ParsedSource:
    """Parse ``path`` (cached until the file changes)."""
    path = Path(path).resolve()
    return _parse(path, path.stat().st_mtime, module_name, package)


def parse_in_memory(name: str, text: str, module_name: str) -> ParsedSource:
    """Parse ``text``, the source that code compiled under the file name ``name`` came from (a notebook cell, a
    REPL's input), kept only in memory (cached per name and text)."""
    return _parse_in_memory(name, text, module_name)


def script_source(script_path: Path, script_module_name: str) -> ParsedSource:
    return parse_source(script_path, script_module_name, None)


def module_source(module_name: str) -> ParsedSource:
    """The parsed source of an importable module."""
    module = sys.modules.get(module_name)
    if module is None:
        module = importlib.import_module(module_name)
    path = inspect.getsourcefile(module)
    if path is None:
        raise DeclarationError(f"Cannot find the source file of module {module_name}.")
    return parse_source(Path(path), module_name, module.__package__)


def locate_class(cls: type, script: ScriptSource) -> ClassSource:
    """The ``ClassSource`` of ``cls``: the ``ClassDef`` and ``__init__`` of the class whose body wrote the
    ``__init__`` that ``cls`` runs, found through any wrapper a decorator put in its place."""
    holder = next((klass for klass in cls.__mro__ if "__init__" in vars(klass)), None)
    if holder is None or holder is object:
        raise DeclarationError(f"{cls.__qualname__} has no __init__ of its own to copy.")
    held = vars(holder)["__init__"]
    not_at_their_lines = []
    for function in reached_functions(held):
        definer = _writer_of(function, cls)
        if definer is None:
            continue
        parsed, namespace = _parsed_module_of(definer, script)
        line = function.__code__.co_firstlineno
        found = _find_class_and_init(parsed, definer, line)
        if found is None:
            not_at_their_lines.append((definer, parsed.path, line))
            continue
        top, class_def, init_def = found
        decorators = _wrapping_decorators(holder, definer, class_def, init_def, function is not held)
        return ClassSource(
            cls,
            definer,
            parsed,
            top,
            class_def,
            init_def,
            namespace,
            runs_a_wrapper=function is not held,
            wrapping_decorators=decorators,
            rewrapped_members=_rewrapped_members(definer, parsed, top, class_def) if decorators else (),
        )
    if not_at_their_lines:
        definer, path, line = not_at_their_lines[-1]
        raise DeclarationError(
            f"Cannot find the __init__ of {definer.__qualname__} in {path} at line {line}, where the function its "
            "class runs was written: the file changed after it was imported, or a decorator replaced that "
            "__init__ without keeping the original. Fix: make sure the file on disk is the one that was "
            "imported (no edits after the run); make a decorator of your own keep the original "
            "(functools.wraps(function) on its wrapper)."
        )
    where = f"{holder.__module__}.{holder.__qualname__}"
    raise DeclarationError(
        f"The __init__ of {where} runs {_function_name(held)}, and no function it wraps is an __init__ written "
        "in the body of a class: a decorator replaced it without keeping the original. Fix: make the decorator "
        "keep the original (decorate its wrapper with functools.wraps(function), or call the original from the "
        "wrapper), or build the model without that decorator."
    )


def _writer_of(function: Any, cls: type) -> type | None:
    """The class of ``cls``'s MRO whose body may have written ``function`` as its ``__init__`` (by name only: a
    wrapper made with ``functools.wraps`` carries the same names, and the line tells them apart)."""
    code = getattr(function, "__code__", None)
    if code is None or code.co_name != "__init__":
        return None
    qualname = getattr(function, "__qualname__", "")
    module = getattr(function, "__module__", None)
    for klass in cls.__mro__:
        if f"{klass.__qualname__}.__init__" == qualname and klass.__module__ == module:
            _check_importable(klass)
            return klass
    return None


def _check_importable(definer: type) -> None:
    if "<locals>" in definer.__qualname__:
        raise DeclarationError(
            f"{definer.__qualname__} is defined inside a function, so no module can import it. "
            "Fix: define the class at the top level of its module."
        )


def _parsed_module_of(definer: type, script: ScriptSource) -> tuple[ParsedSource, dict[str, Any]]:
    if script.owns(definer):
        parsed = script.source_of(definer)
        if parsed is not None:
            return parsed, script.namespace
    if definer.__module__ == "__main__":
        raise source_not_kept(definer.__qualname__, definer)
    try:
        parsed = module_source(definer.__module__)
    except (TypeError, OSError) as error:
        raise DeclarationError(
            f"Cannot find the source of {definer.__module__}.{definer.__qualname__} ({error})."
        ) from error
    return parsed, vars(sys.modules[definer.__module__])


def _wrapping_decorators(
    holder: type, definer: type, class_def: cst.ClassDef, init_def: cst.FunctionDef, wrapped: bool
) -> tuple[cst.Decorator, ...]:
    """The class decorators that put a wrapper in place of the written ``__init__``: a class that re-declares
    ``__init__`` carries them, so that the wrapper's work (per-instance state, a wrapped ``forward``) happens.

    A wrapper that the ``def``'s own decorators make is copied with the ``def``; one that no decorator in the
    source explains (installed by other code at run time) is not carried, and verification compares its work.
    """
    if not wrapped or init_def.decorators or holder is not definer:
        return ()
    return tuple(decorator.with_changes(leading_lines=()) for decorator in class_def.decorators)


def _rewrapped_members(
    definer: type, parsed: ParsedSource, top: cst.CSTNode, class_def: cst.ClassDef
) -> tuple[str, ...]:
    """The members besides ``__init__`` that the class decorators put in place (a wrapper of a method, or a method
    the body does not define): on a generated subclass, the decorators would put them in place again, wrapping
    the original's wrappers a second time, so the subclass drops its own and inherits the original's.

    A method is wrapped by the class decorators when more wrappers lie between what the class holds and the
    function the body wrote than the ``def``'s own decorators account for (one each).
    """
    positions = parsed.positions_in(top)
    written = {
        statement.name.value: statement
        for statement in class_def.body.body
        if isinstance(statement, cst.FunctionDef)
    }
    bound_otherwise = {
        target.value
        for statement in class_def.body.body
        if isinstance(statement, cst.SimpleStatementLine)
        for small in statement.body
        if isinstance(small, cst.Assign | cst.AnnAssign)
        for target in ([t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target])
        if isinstance(target, cst.Name)
    }
    found = []
    for name, held in vars(definer).items():
        if name == "__init__" or name in bound_otherwise or not is_function_like(held):
            continue
        statement = written.get(name)
        if statement is None:
            found.append(name)
            continue
        first = statement.decorators[0] if statement.decorators else statement
        line = positions[first].start.line
        function = next(
            (
                reached
                for reached in reached_functions(held)
                if getattr(getattr(reached, "__code__", None), "co_firstlineno", None) == line
                and Path(reached.__code__.co_filename).resolve() == parsed.path
            ),
            None,
        )
        layers = layers_between(held, function) if function is not None else None
        if layers is None or layers > len(statement.decorators):
            found.append(name)
    return tuple(found)


def _function_name(function: Any) -> str:
    module = getattr(function, "__module__", None) or "?"
    return f"{module}.{getattr(function, '__qualname__', repr(function))}"


def _find_class_and_init(
    parsed: ParsedSource, definer: type, init_line: int
) -> tuple[cst.CSTNode, cst.ClassDef, cst.FunctionDef] | None:
    """``(top-level statement holding the class, the class, its __init__)``: the ``def __init__`` of a class
    named as ``definer`` that starts at ``init_line``; ``None`` when there is none."""
    parts = definer.__qualname__.split(".")
    candidates = [
        (top, class_def) for top in parsed.module.body for class_def in _class_defs_by_qualname([top], parts)
    ]
    for top, class_def in candidates:
        for statement in class_def.body.body:
            if isinstance(statement, cst.FunctionDef) and statement.name.value == "__init__":
                # co_firstlineno is the line of the first decorator when there is one.
                first = statement.decorators[0] if statement.decorators else statement
                if parsed.positions_in(top)[first].start.line == init_line:
                    return top, class_def, statement
    return None


def _class_defs_by_qualname(body, parts: list[str]) -> list[cst.ClassDef]:
    """Every ``ClassDef`` matching a dotted ``__qualname__``, also under top-level ``if``/``try`` blocks."""
    found = []
    for statement in _flatten_blocks(body):
        if isinstance(statement, cst.ClassDef) and statement.name.value == parts[0]:
            if len(parts) == 1:
                found.append(statement)
            else:
                found.extend(_class_defs_by_qualname(statement.body.body, parts[1:]))
    return found


def _flatten_blocks(body):
    for statement in body:
        yield statement
        if isinstance(statement, (cst.If, cst.Try, cst.With)):
            yield from _flatten_blocks(statement.body.body)
            orelse = getattr(statement, "orelse", None)
            while orelse is not None:
                yield from _flatten_blocks(orelse.body.body)
                orelse = getattr(orelse, "orelse", None)
            for handler in getattr(statement, "handlers", ()):
                yield from _flatten_blocks(handler.body.body)


def absolute_module(parsed: ParsedSource, import_from: cst.ImportFrom) -> str:
    """The absolute module name of a (possibly relative) ``from ... import``."""
    dots = len(import_from.relative)
    name = cst.Module([]).code_for_node(import_from.module) if import_from.module is not None else ""
    if dots == 0:
        return name
    if parsed.package is None:
        raise DeclarationError(f"{parsed.path} uses a relative import but is not part of a package.")
    return importlib.util.resolve_name("." * dots + name, parsed.package)
