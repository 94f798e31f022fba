"""``main``: the entry point of ``archit-codemod`` and ``python -m archit_codemod``.

``check`` or ``generate`` in SCRIPT's place runs the project's targets; anything else is the script form.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence

from archit_codemod.cli.console import report_interrupted
from archit_codemod.cli.exit_status import ExitStatus
from archit_codemod.cli.parser import project_command

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        command = project_command(arguments)
        if command is not None:
            from archit_codemod.cli.project_run import run_project

            return run_project(*command)
        from archit_codemod.cli.run import run_script_form

        return run_script_form(arguments)
    except KeyboardInterrupt:
        # One line, as shells and git do; outputs are written atomically, so nothing is half-written.
        report_interrupted()
        return ExitStatus.INTERRUPTED
    except BrokenPipeError:
        # The reader of standard output went away (`| head`): stop quietly, as other tools do.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaces the closed stream until exit
        return ExitStatus.ERROR
