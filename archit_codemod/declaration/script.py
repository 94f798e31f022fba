"""The traced script as the codemod sees it: its file, module name, namespace, and the warnings of a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from archit_codemod.declaration.provenance import Provenance
from archit_codemod.declaration.records import Trace
from archit_codemod.declaration.sources.locate import ParsedSource, script_source


@dataclass
class ScriptSource:
    """What "belongs to the script" means, answered in one place; passed to every stage of a run.

    Classes and functions the script defines have ``__module__ == module_name``; no other program can import
    them, so the codemod copies their source from ``path``. ``path`` is ``None`` for a block traced in an
    interactive session (nothing can be copied then). ``provenance`` says how generated files name the script
    and the traced statements, and where the output will be imported from (which decides whether a module
    beside the script can be imported there or must be copied). ``warnings`` collects what the stages want the
    user to know, in order, without duplicates.
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

    def owns(self, obj: Any) -> bool:
        """Whether ``obj`` (a class or function) was defined in the script."""
        return self.path is not None and getattr(obj, "__module__", None) == self.module_name

    def parsed(self) -> ParsedSource:
        """The script's parsed source, read once per run (every layer's replacement asks for it)."""
        if self.path is None:
            raise ValueError("a traced interactive session has no script file")
        if self._parsed is None:
            self._parsed = script_source(self.path, self.module_name)
        return self._parsed

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)
