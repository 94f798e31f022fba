"""Command line: ``archit-codemod [OPTIONS] SCRIPT [SCRIPT_ARGS...]`` and ``archit-codemod check|generate``.

Runs SCRIPT under the runtime tracer, finds the models it modified, generates the classes that declare
the modifications, verifies them and writes them out; ``check`` and ``generate`` do that for every target
of the project's ``pyproject.toml``. Exit status: 0 done; 1 ``--check`` found a difference, verification
failed, or nothing was modified; 2 usage error, the script raised, a modification cannot be rendered, or an
internal error (one message naming the stage; the traceback only with ARCHIT_CODEMOD_DEBUG=1); 130 interrupted
(Ctrl-C); a script that exits on its own (``sys.exit(N)``, its ``--help``) passes its status N through.

The modules, by role: ``entry.py`` (``main``: which command, Ctrl-C), ``parser.py`` (argv to ``RunOptions``,
``options.py``), ``checks.py`` (unusable options, before the script runs), ``run.py`` (one script: trace it, then
``archit_codemod.delivery.write_traced``, then the console and the exit status, ``exit_status.py``),
``console.py`` (status lines, messages, colour, ``-q``), ``project_config.py`` and ``project_run.py`` (the targets
of ``[tool.archit_codemod]``, ``check`` and ``generate``). Writing, diffs and checkpoint hashes are the library's
(``archit_codemod.delivery``), which the Python API shares.
"""

from archit_codemod.cli.entry import main
from archit_codemod.cli.exit_status import ExitStatus

__all__ = ["ExitStatus", "main"]
