"""The command line's exit statuses: one enum, used by every command."""

from __future__ import annotations

import enum

__all__ = ["ExitStatus"]


class ExitStatus(enum.IntEnum):
    """How a run of ``archit-codemod`` ended (a script that ends itself passes its own status through)."""

    DONE = 0
    """Written, printed, or up to date."""
    FAILED = 1
    """``--check`` found a difference, verification failed, or nothing was modified."""
    ERROR = 2
    """A usage error, the script raised, a modification cannot be rendered, or an internal error."""
    INTERRUPTED = 130
    """Ctrl-C, as shells report SIGINT."""
