"""Which stage of a run is going on, so that an unexpected exception becomes one clear report.

The codemod's own failures (a script that raises, a modification it cannot declare, a verification that
fails) are the declaration errors, with messages written for the user. Anything else raised inside
``with stage("planning", path=...)`` is a bug of archit_codemod: it is re-raised as an
:class:`InternalError` naming the stage and the module path, which the command line reports in one message
(exit 2) instead of a traceback. Stages nest; the innermost one names the error.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Literal

from archit_codemod.declaration.errors import (
    DeclarationError,
    NothingModifiedError,
    ScriptError,
    VerificationError,
)

__all__ = ["DEBUG_VARIABLE", "InternalError", "Stage", "stage"]

Stage = Literal["tracing", "checking", "planning", "rendering", "verifying", "writing", "declaring"]
"""``declaring`` stands for an error outside every other stage."""

DEBUG_VARIABLE = "ARCHIT_CODEMOD_DEBUG"
"""Set to ``1`` to see the traceback of an internal error."""

_EXPECTED = (DeclarationError, NothingModifiedError, ScriptError, VerificationError)


class InternalError(Exception):
    """An unexpected exception inside archit_codemod: a bug to report (exit code 2).

    ``stage`` and ``path`` (the module path, when known) say where it happened; the original exception is
    ``__cause__``.
    """

    def __init__(self, stage: Stage, path: str | None, error: BaseException):
        self.stage = stage
        self.path = path
        self.error = error
        where = f" at {path or '<root>'}" if path is not None else ""
        super().__init__(
            f"internal error while {stage}{where}: {type(error).__name__}: {error}. This is a bug in "
            "archit_codemod, not in your script. Fix: report it with the script (and its arguments) that "
            f"triggers it; {DEBUG_VARIABLE}=1 shows the traceback."
        )


@contextlib.contextmanager
def stage(
    name: Stage, path: str | None = None, *, expected: tuple[type[BaseException], ...] = ()
) -> Iterator[None]:
    """Turn an unexpected exception raised inside the block into an :class:`InternalError` of ``name``.

    The declaration errors, an :class:`InternalError` of an inner stage, and the ``expected`` exception types
    (``OSError`` while writing) pass through unchanged.
    """
    try:
        yield
    except (*_EXPECTED, InternalError, *expected):
        raise
    except Exception as error:
        raise InternalError(name, path, error) from error
