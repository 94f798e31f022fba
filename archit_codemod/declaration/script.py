"""The traced script as the codemod sees it: its sources, module name, namespace, and the warnings of a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import libcst as cst

from archit_codemod.declaration.provenance import Provenance
from archit_codemod.declaration.records import Trace
from archit_codemod.declaration.sources.locate import (
    ParsedSource,
    parse_in_memory,
    parse_source,
    script_source,
)
from archit_codemod.declaration.sources.session import (
    defining_filename,
    in_memory_sources,
    in_memory_text,
    mentions,
)

_SESSION = "<session>"
"""The name of the empty source that stands for a session's file (see :meth:`ScriptSource.parsed`)."""


@dataclass
class ScriptSource:
    """What "belongs to the script" means, answered in one place; passed to every stage of a run.

    Classes and functions the script defines have ``__module__ == module_name``; no other program can import
    them, so the codemod copies their source. A script run from a file (``path``) has that file as its one
    source. A block traced in an interactive session (``path`` is ``None``: a notebook, a REPL) has as many
    sources as it ran cells: each is parsed on its own, with its own lines, and found from the code compiled from
    it (:mod:`~archit_codemod.declaration.sources.session`); what no kept source defines cannot be copied.
    ``provenance`` says how generated files name the script and the traced statements, and where the output will
    be imported from (which decides whether a module beside the script can be imported there or must be copied).
    ``warnings`` collects what the stages want the user to know, in order, without duplicates.
    """

    path: Path | None = None
    module_name: str = "__main__"
    namespace: dict[str, Any] = field(default_factory=dict)
    argv: list[str] = field(default_factory=list)
    provenance: Provenance = field(default_factory=Provenance)
    warnings: list[str] = field(default_factory=list)
    _parsed: ParsedSource | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def of(cls, trace: Trace, provenance: Provenance | None = None) -> ScriptSource:
        """The script a trace ran (or the traced block's file); without ``provenance``, files are named by their
        file names only and the output's folder is unknown."""
        path = Path(trace.script_path) if trace.script_path is not None else None
        provenance = provenance or Provenance(script=path.resolve() if path is not None else None)
        return cls(path, trace.script_module_name, trace.namespace, list(trace.script_argv), provenance)

    @property
    def shown_path(self) -> PurePosixPath | None:
        """The script's path as generated files show it: the same from any working folder."""
        return self.provenance.script_label()

    @property
    def is_session(self) -> bool:
        """Whether the traced code ran in an interactive session's ``__main__`` (no script file)."""
        return self.path is None and self.module_name == "__main__"

    def owns(self, obj: Any) -> bool:
        """Whether ``obj`` (a class or function) was defined in the script: in its file, or in a session's cell
        whose source is kept."""
        if getattr(obj, "__module__", None) != self.module_name:
            return False
        return self.path is not None or (self.is_session and self.source_of(obj) is not None)

    def parsed(self) -> ParsedSource:
        """The script's parsed file, read once per run (every layer's replacement asks for it). A session has no
        file: it stands for one by an empty module (a vendored folder's file of the session's definitions starts
        from it)."""
        if self._parsed is None:
            if self.path is not None:
                self._parsed = script_source(self.path, self.module_name)
            else:
                self._parsed = parse_in_memory(_SESSION, "", self.module_name)
        return self._parsed

    def source_of(self, obj: Any) -> ParsedSource | None:
        """The source that defines ``obj`` (a class or function of the script): the script's file; in a session,
        the cell (or file run into it) its code was compiled from, else the latest cell that defines its name at
        the top level. ``None`` when no kept source defines it."""
        if self.path is not None:
            return self.parsed()
        if not self.is_session:
            return None
        filename = defining_filename(obj)
        if filename is not None:
            return self._source_named(filename)
        name = getattr(obj, "__name__", None)
        if not isinstance(name, str):
            return None
        return next(
            (
                source
                for source in self.sources_binding(name)
                if any(
                    isinstance(assignment.node, cst.ClassDef | cst.FunctionDef)
                    for assignment in source.global_scope[name]
                    if assignment.scope is source.global_scope
                )
            ),
            None,
        )

    def sources_binding(self, name: str) -> list[ParsedSource]:
        """The script's sources whose top level binds ``name``, the latest first (a session's cells in the order
        they were first compiled)."""
        if not self.is_session:
            return [self.parsed()] if self.path is not None and _binds(self.parsed(), name) else []
        found = []
        for filename in reversed(in_memory_sources()):
            text = in_memory_text(filename)
            if text is None or not mentions(text, name):
                continue
            source = parse_in_memory(filename, text, self.module_name)
            if _binds(source, name):
                found.append(source)
        return found

    def order_of(self, source: ParsedSource) -> int:
        """Where ``source`` ran among the script's sources: copied definitions keep that order (-1 for a file
        run into a session, ``%run``, which is not among its cells)."""
        if self.path is not None:
            return 0
        if not source.in_memory:
            return -1
        names = [Path(name).resolve() for name in in_memory_sources()]
        return names.index(source.path) if source.path in names else -1

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def _source_named(self, filename: str) -> ParsedSource | None:
        text = in_memory_text(filename)
        if text is not None:
            return parse_in_memory(filename, text, self.module_name)
        if Path(filename).is_file():
            return parse_source(Path(filename), self.module_name)
        return None


def _binds(source: ParsedSource, name: str) -> bool:
    return any(assignment.scope is source.global_scope for assignment in source.global_scope[name])
