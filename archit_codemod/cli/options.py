"""The options of a command, as values: built once from argv by :mod:`archit_codemod.cli.parser`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from archit_codemod.cli.console import ColorChoice
from archit_codemod.delivery.options import WriteOptions

__all__ = ["ProjectCommand", "ProjectOptions", "RunOptions"]

ProjectCommand = Literal["check", "generate"]


@dataclass(frozen=True)
class RunOptions:
    """``archit-codemod [OPTIONS] SCRIPT [SCRIPT_ARGS...]``.

    ``writing`` is what the library gets (output, mode, suffix, action...). ``output_is_stdout``: ``-o`` named
    standard output (``-``, ``/dev/stdout``), so ``writing.output`` is ``None``. ``regenerate_with`` is the command
    the messages give as the fix for an output that is stale or missing; ``None``: the same command without
    ``--check`` (``archit-codemod check`` sets it to ``archit-codemod generate TARGET`` for each target).
    """

    script: str
    script_args: tuple[str, ...]
    writing: WriteOptions
    model: str | None = None
    output_is_stdout: bool = False
    color: ColorChoice = "auto"
    quiet: bool = False
    regenerate_with: str | None = None

    @property
    def code_to_stdout(self) -> bool:
        """Whether standard output gets the code or a patch (so the script's own prints go to standard error)."""
        return self.writing.output is None or self.writing.action != "write"


@dataclass(frozen=True)
class ProjectOptions:
    """``archit-codemod check|generate [OPTIONS] [TARGET...]``."""

    command: ProjectCommand
    project: Path | None = None
    targets: tuple[str, ...] = ()
    color: ColorChoice = "auto"
    quiet: bool = False
