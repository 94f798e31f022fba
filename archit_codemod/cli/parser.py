"""Command line: ``archit-codemod [OPTIONS] SCRIPT [SCRIPT_ARGS...]`` and ``archit-codemod check|generate``.

Runs SCRIPT under the runtime tracer, finds the models it modified, generates the classes that declare
the modifications, verifies them and writes them out; ``check`` and ``generate`` do that for every target
of the project's ``pyproject.toml``. Exit status: 0 done; 1 ``--check`` found a difference, verification
failed, or nothing was modified; 2 usage error, the script raised, a modification cannot be rendered, or an
internal error (one message naming the stage; the traceback only with ARCHIT_CODEMOD_DEBUG=1); 130 interrupted
(Ctrl-C); a script that exits on its own (``sys.exit(N)``, its ``--help``) passes its status N through.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

import archit_codemod
from archit_codemod.terminal import COLOR_CHOICES, Console, report_interrupted

__all__ = [
    "EXIT_DIFFERENT",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "PROJECT_COMMANDS",
    "build_parser",
    "main",
]

EXIT_OK = 0
EXIT_DIFFERENT = 1  # --check found a difference, verification failed, or nothing was modified
EXIT_ERROR = 2  # usage error, the script raised, a modification cannot be rendered, or an internal error
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT

PROJECT_COMMANDS = ("check", "generate")
"""First arguments that run every target of the project instead of a script (``./check`` runs a script)."""

# Options that take a value: needed to find SCRIPT, the first argument that is not an option or its value.
_OPTIONS_WITH_VALUE = frozenset({"-o", "--output", "--mode", "--suffix", "--model", "--color"})


def _prog() -> str:
    return "python -m archit_codemod" if Path(sys.argv[0]).name == "__main__.py" else "archit-codemod"


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """``--color`` and ``-q``: shared by the script form and the project commands."""
    parser.add_argument(
        "--color",
        choices=COLOR_CHOICES,
        default="auto",
        help="colour diffs and messages: auto (on a terminal, unless the NO_COLOR environment variable is set), "
        "always or never; default: %(default)s",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no status lines and no 'wrote'/'up to date' messages; errors and warnings are still shown",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the command line (options before SCRIPT; the rest goes to the script)."""
    parser = argparse.ArgumentParser(
        prog=_prog(),
        usage="%(prog)s [OPTIONS] SCRIPT [SCRIPT_ARGS...]\n       %(prog)s {check,generate} [OPTIONS] [TARGET...]",
        description=(
            "Run SCRIPT, which modifies a PyTorch model in place, and write classes that declare "
            "the modified model in code. Options come before SCRIPT; everything after SCRIPT is "
            "passed to the script, --help included. When the code goes to standard output, the script's own "
            "output goes to standard error. `check` and `generate` as the first argument check or regenerate "
            "every target listed in the project's pyproject.toml; a script named check or generate is run as "
            "./check or ./generate."
        ),
        allow_abbrev=False,
    )
    _add_generation_options(parser)
    _add_review_options(parser)
    _add_writing_options(parser)
    add_output_options(parser)
    parser.add_argument("--version", action="version", version=f"%(prog)s {archit_codemod.__version__}")
    # SCRIPT_ARGS is not an argparse argument: _split_at_script hands it to the script untouched.
    parser.add_argument(
        "script",
        metavar="SCRIPT",
        help="the Python script that modifies the model, followed by its own arguments (SCRIPT_ARGS)",
    )
    return parser


def _add_generation_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="file (subclass mode) or folder (vendor mode) to write; - or no -o: standard output (subclass mode)",
    )
    parser.add_argument(
        "--mode", choices=("subclass", "vendor"), default="subclass", help="default: %(default)s"
    )
    parser.add_argument(
        "--suffix",
        metavar="NAME",
        default="Modified",
        help="appended to each generated class name; default: %(default)s",
    )
    parser.add_argument(
        "--model",
        metavar="NAME",
        help="the script global holding the model; default: every modified root model",
    )


def _add_review_options(parser: argparse.ArgumentParser) -> None:
    review = parser.add_mutually_exclusive_group()
    review.add_argument(
        "--diff",
        action="store_true",
        help="print a patch from what is at --output to what would be generated (git apply accepts it); "
        "write nothing",
    )
    review.add_argument(
        "--diff-original",
        action="store_true",
        help="print what changed against the original sources (the installed transformers files): each "
        "generated class against the original __init__, or each vendored file against its original; write nothing",
    )
    review.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 with the patch when --output (and its checkpoint, in vendor mode) differs "
        "from what would be generated",
    )


def _add_writing_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--force",
        action="store_true",
        help="overwrite an existing output that archit_codemod did not generate",
    )
    parser.add_argument(
        "--prune",
        action="store_true",
        help="vendor mode: leave out the classes and functions the modified models do not use",
    )
    parser.add_argument(
        "--save-pretrained",
        action="store_true",
        help="vendor mode: also save the traced model's config and weights into the folder, loadable with "
        "AutoModel*.from_pretrained(FOLDER, trust_remote_code=True), and their hashes for --check",
    )
    parser.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="skip checking that the generated classes rebuild the traced model",
    )


def _split_at_script(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """``(our arguments up to and including SCRIPT, the script's arguments)``.

    Done before argparse so that everything after SCRIPT reaches the script verbatim, ``--`` and
    option-like arguments included (argparse would drop a ``--`` and could claim ``-o``).
    """
    index = 0
    while index < len(argv):
        argument = argv[index]
        if argument == "--":
            return list(argv[: index + 2]), list(argv[index + 2 :])
        if not argument.startswith("-") or argument == "-":
            return list(argv[: index + 1]), list(argv[index + 1 :])
        index += 2 if argument in _OPTIONS_WITH_VALUE else 1
    return list(argv), []


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    own, script_args = _split_at_script(argv)
    options = parser.parse_args(own)
    options.script_args = script_args
    return options


def _is_standard_output(output: str) -> bool:
    """``-``, or a path that is this process's standard output (``/dev/stdout``, ``/proc/self/fd/1``)."""
    if output == "-":
        return True
    path = Path(output)
    if path.is_file() or path.is_dir() or not path.exists():
        return False
    try:
        return os.path.samestat(os.stat(path), os.fstat(sys.stdout.fileno()))
    except (OSError, ValueError, AttributeError):
        return False


@contextlib.contextmanager
def _script_output_to(stream: TextIO | None) -> Iterator[None]:
    if stream is None:
        yield
    else:
        with contextlib.redirect_stdout(stream):
            yield


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        if arguments and arguments[0] in PROJECT_COMMANDS:
            from archit_codemod.project_cli import run_project

            return run_project(arguments[0], arguments[1:])
        return _run_script(arguments)
    except KeyboardInterrupt:
        # One line, as shells and git do; outputs are written atomically, so nothing is half-written.
        report_interrupted()
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of standard output went away (`| head`): stop quietly, as other tools do.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaces the closed stream until exit
        return EXIT_ERROR


def _run_script(arguments: list[str]) -> int:
    from archit_codemod.cli_checks import missing_check_output, usage_problem

    parser = build_parser()
    try:
        options = _parse(parser, arguments)
    except SystemExit as stop:  # --help, --version, or a usage error argparse already reported
        return stop.code if isinstance(stop.code, int) else EXIT_ERROR
    if options.output is not None and _is_standard_output(options.output):
        options.output = None
        options.output_is_stdout = True
    console = Console(color=options.color, quiet=options.quiet)
    problem = usage_problem(options)
    if problem is not None:
        parser.print_usage(sys.stderr)
        console.error(problem)
        return EXIT_ERROR
    missing = missing_check_output(options)
    if missing is not None:
        console.error(missing)
        return EXIT_DIFFERENT
    return _generate_and_deliver(options, console)


def _generate_and_deliver(options: argparse.Namespace, console: Console) -> int:
    from archit_codemod.declaration.errors import (
        DeclarationError,
        NothingModifiedError,
        ScriptError,
        ScriptExitedError,
        VerificationError,
    )
    from archit_codemod.declaration.stages import InternalError, stage
    from archit_codemod.delivery import deliver
    from archit_codemod.generation import generate
    from archit_codemod.writing import ForeignFilesError

    # With code or a diff on standard output, keep the script's prints out of it.
    to_stdout = options.output is None or options.diff or options.diff_original or options.check
    try:
        with _script_output_to(sys.stderr if to_stdout else None):
            product = generate(options, console)
    except ScriptExitedError as stop:
        return _script_exit_status(stop, options, console)
    except ScriptError as failure:
        message = str(failure)
        # A traceback or syntax error gets a heading; a one-line message (no such file...) is complete.
        console.error(f"{options.script} failed:\n{message}" if "\n" in message else message)
        return EXIT_ERROR
    except (NothingModifiedError, VerificationError) as failure:
        console.error(str(failure))
        return EXIT_DIFFERENT
    except DeclarationError as failure:
        console.error(str(failure))
        return EXIT_ERROR
    except Exception as failure:
        return _internal_error(failure, console)
    try:
        with stage("writing", expected=(ForeignFilesError, DeclarationError, OSError)):
            return deliver(product, options, console)
    except InternalError as failure:
        return _internal_error(failure, console)
    except (ForeignFilesError, DeclarationError) as failure:
        console.error(str(failure))
        return EXIT_ERROR
    except OSError as failure:
        console.error(f"cannot write {options.output}: {failure}. Fix: check the path and its permissions.")
        return EXIT_ERROR


def _internal_error(failure: Exception, console: Console) -> int:
    """Report a bug of archit_codemod in one message (the traceback only with ARCHIT_CODEMOD_DEBUG=1)."""
    from archit_codemod.declaration.stages import DEBUG_VARIABLE, InternalError

    if not isinstance(failure, InternalError):
        failure = InternalError("declaring", None, failure)
    console.error(str(failure))
    if os.environ.get(DEBUG_VARIABLE) == "1":
        traceback.print_exception(failure, file=sys.stderr)
    return EXIT_ERROR


def _script_exit_status(stop: Exception, options: argparse.Namespace, console: Console) -> int:
    """The script ended itself: its status is ours. A message status (``sys.exit("text")``) is printed and
    gives 1, as Python does."""
    status = getattr(stop, "status", 1)
    if status in (None, 0):
        return EXIT_OK
    if isinstance(status, int):
        console.error(f"{options.script} exited with status {status}; nothing was generated")
        return status
    print(status, file=sys.stderr)
    console.error(f"{options.script} exited with status 1; nothing was generated")
    return 1
