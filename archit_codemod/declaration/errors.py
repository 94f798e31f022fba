"""Errors of the declaration half, each mapped to the command line's exit code (docs/cli.md lists them)."""

from __future__ import annotations

from typing import Any


class DeclarationError(Exception):
    """A modification was traced but cannot be declared faithfully (exit code 2).

    The message names the module path, the class and, where relevant, the argument, and says what to do.
    """


class ReplayError(DeclarationError):
    """A library call the generated class makes again fails (exit code 2): ``function`` is what it calls."""

    def __init__(self, message: str, function: Any):
        super().__init__(message)
        self.function = function


class ScriptError(Exception):
    """The user's script is missing, not Python, has a syntax error, or raised (exit code 2)."""


class ScriptExitedError(ScriptError):
    """The script ended itself (``sys.exit(status)``, argparse's ``--help`` or usage error) before anything could
    be declared; the command line exits with the same ``status``."""

    def __init__(self, message: str, status: int | str | None):
        super().__init__(message)
        self.status = status


class NothingModifiedError(Exception):
    """The script modified no module, or ``--model NAME`` names no module (exit code 1)."""


class VerificationError(Exception):
    """The generated code does not rebuild the traced model (exit code 1); the message names the first differing paths.

    ``differences`` are those found between the traced root ``root_name`` and the generated model (empty when the
    code failed to import, build or run).
    """

    def __init__(self, message: str, differences: tuple[Any, ...] = (), root_name: str | None = None):
        super().__init__(message)
        self.differences = differences
        self.root_name = root_name
