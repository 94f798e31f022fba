"""What the command line prints besides the generated code: status lines, messages, colour.

Messages go to standard error, prefixed ``archit_codemod:``. Status lines (one per stage of a run) appear
only when standard error is a terminal and ``--quiet`` is not given. Colour follows ``--color``: ``auto``
colours a stream that is a terminal unless the ``NO_COLOR`` environment variable is set (https://no-color.org),
``always`` and ``never`` decide regardless.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

__all__ = ["COLOR_CHOICES", "Console", "report_interrupted", "wants_colour"]

COLOR_CHOICES = ("auto", "always", "never")

_RESET = "\033[0m"
_RED = "\033[1;31m"
_YELLOW = "\033[1;33m"
_DIM = "\033[2m"


def wants_colour(mode: str, stream: TextIO) -> bool:
    """Whether to colour what goes to ``stream`` under ``--color=mode``."""
    if mode == "always":
        return True
    if mode == "never" or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Console:
    """Prints the command line's messages; the streams are looked up at each call (tests replace them)."""

    def __init__(self, *, color: str = "auto", quiet: bool = False) -> None:
        self.color = color
        self.quiet = quiet
        self._started = time.monotonic()

    def _paint(self, code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if wants_colour(self.color, sys.stderr) else text

    def _print(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def status(self, text: str) -> None:
        """A stage begins (running the script, planning, verifying, writing): shown on a terminal only."""
        isatty = getattr(sys.stderr, "isatty", None)
        if self.quiet or not (isatty and isatty()):
            return
        elapsed = time.monotonic() - self._started
        self._print(self._paint(_DIM, f"archit_codemod: {text} ({elapsed:.1f} s)"))

    def info(self, text: str) -> None:
        """A result worth a line (``wrote out.py``); silenced by ``--quiet``."""
        if not self.quiet:
            self._print(f"archit_codemod: {text}")

    def warning(self, text: str) -> None:
        self._print(f"archit_codemod: {self._paint(_YELLOW, 'warning:')} {text}")

    def error(self, text: str) -> None:
        self._print(f"archit_codemod: {self._paint(_RED, 'error:')} {text}")

    def colour_stdout(self) -> bool:
        """Whether diffs printed on standard output are coloured."""
        return wants_colour(self.color, sys.stdout)


def report_interrupted() -> None:
    """The one line Ctrl-C gets (on a terminal, after the ``^C`` it echoed)."""
    isatty = getattr(sys.stderr, "isatty", None)
    start = "\n" if isatty and isatty() else ""
    print(f"{start}archit_codemod: interrupted; nothing was written", file=sys.stderr, flush=True)
