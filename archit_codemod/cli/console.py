"""What the command line prints besides the generated code: status lines, messages, colour.

Messages go to standard error, prefixed ``archit_codemod:``. Status lines (one per stage of a run) appear
only when standard error is a terminal and ``--quiet`` is not given. Colour follows ``--color``: ``auto``
colours a stream that is a terminal unless the ``NO_COLOR`` environment variable is set (https://no-color.org),
``always`` and ``never`` decide regardless.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Literal, TextIO

__all__ = ["COLOR_CHOICES", "ColorChoice", "Console", "report_interrupted", "wants_colour"]

ColorChoice = Literal["auto", "always", "never"]
COLOR_CHOICES: tuple[ColorChoice, ...] = ("auto", "always", "never")

_LIBRARY_LOGGER = "archit_codemod"
"""The logger the library (``archit_codemod.delivery``) reports its stages on, at level ``INFO``."""

_RESET = "\033[0m"
_RED = "\033[1;31m"
_YELLOW = "\033[1;33m"
_DIM = "\033[2m"


def wants_colour(mode: ColorChoice, stream: TextIO) -> bool:
    """Whether to colour what goes to ``stream`` under ``--color=mode``."""
    if mode == "always":
        return True
    if mode == "never" or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Console:
    """Prints the command line's messages; the streams are looked up at each call (tests replace them)."""

    def __init__(self, *, color: ColorChoice = "auto", quiet: bool = False) -> None:
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

    @contextlib.contextmanager
    def library_stages_as_status(self) -> Iterator[None]:
        """While the block runs, the stages the library logs (planning, verifying, writing) are status lines."""
        logger = logging.getLogger(_LIBRARY_LOGGER)
        handler = _StatusLines(self)
        saved_level, saved_propagate = logger.level, logger.propagate
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False  # the console shows them; a root handler would print them again
        try:
            yield
        finally:
            logger.removeHandler(handler)
            logger.setLevel(saved_level)
            logger.propagate = saved_propagate


class _StatusLines(logging.Handler):
    """Shows the library's ``INFO`` records as the console's status lines (its warnings are Python warnings)."""

    def __init__(self, console: Console) -> None:
        super().__init__(level=logging.INFO)
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        self.console.status(record.getMessage())


def report_interrupted(written: Sequence[str] = ()) -> None:
    """The one line Ctrl-C gets (on a terminal, after the ``^C`` it echoed); ``written`` are the outputs written
    before it came (by ``archit-codemod generate``, one target at a time)."""
    isatty = getattr(sys.stderr, "isatty", None)
    start = "\n" if isatty and isatty() else ""
    if written:
        what = f"interrupted after writing {', '.join(written)}; nothing else was written"
    else:
        what = "interrupted; nothing was written"
    print(f"{start}archit_codemod: {what}", file=sys.stderr, flush=True)
