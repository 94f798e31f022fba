"""From argv to the options of a command: :class:`~archit_codemod.cli.options.RunOptions` for the script form,
:class:`~archit_codemod.cli.options.ProjectOptions` for ``check`` and ``generate``.

argparse's ``Namespace`` stays inside this module: each parse turns it into a frozen value at once.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import archit_codemod
from archit_codemod.cli.console import COLOR_CHOICES
from archit_codemod.cli.options import ProjectCommand, ProjectOptions, RunOptions
from archit_codemod.delivery.options import MODES, Action, WriteOptions

__all__ = [
    "PROJECT_COMMANDS",
    "build_parser",
    "build_project_parser",
    "parse_project_options",
    "parse_run_options",
    "prog",
    "project_command",
    "split_at_script",
    "usage",
]

PROJECT_COMMANDS: tuple[ProjectCommand, ...] = ("check", "generate")
"""Words in SCRIPT's place that run every target of the project instead of a script (``./check`` runs a
script, and so does ``-- check``)."""

# Options that take a value: needed to find SCRIPT, the first argument that is not an option or its value.
_OPTIONS_WITH_VALUE = frozenset(
    {"-o", "--output", "--mode", "--suffix", "--model", "--color", "--regenerate-with", "--project"}
)

_DESCRIPTIONS = {
    "check": "Check that every target listed in the project's pyproject.toml ([tool.archit_codemod]) is what its "
    "script generates now, checkpoints included; write nothing. For CI and pre-commit.",
    "generate": "Regenerate every target listed in the project's pyproject.toml ([tool.archit_codemod]).",
}


def prog() -> str:
    """The command as the user typed it: ``archit-codemod`` or ``python -m archit_codemod``."""
    return "python -m archit_codemod" if Path(sys.argv[0]).name == "__main__.py" else "archit-codemod"


def _add_output_options(parser: argparse.ArgumentParser) -> None:
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
    """The argument parser of the script form (options before SCRIPT; the rest goes to the script)."""
    parser = argparse.ArgumentParser(
        prog=prog(),
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
    _add_output_options(parser)
    parser.add_argument("--version", action="version", version=f"%(prog)s {archit_codemod.__version__}")
    # Set by `check` for each target it runs: the fix its messages name for a stale output.
    parser.add_argument("--regenerate-with", metavar="COMMAND", help=argparse.SUPPRESS)
    # SCRIPT_ARGS is not an argparse argument: split_at_script hands it to the script untouched.
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
    parser.add_argument("--mode", choices=MODES, default="subclass", help="default: %(default)s")
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
        dest="action",
        action="store_const",
        const="diff",
        help="print a patch from what is at --output to what would be generated (git apply accepts it); "
        "write nothing",
    )
    review.add_argument(
        "--diff-original",
        dest="action",
        action="store_const",
        const="diff-original",
        help="print what changed against the original sources (the installed transformers files): each "
        "generated class against the original __init__, or each vendored file against its original; write nothing",
    )
    review.add_argument(
        "--check",
        dest="action",
        action="store_const",
        const="check",
        help="write nothing; exit 1 with the patch when --output (and its checkpoint, in vendor mode) differs "
        "from what would be generated",
    )
    parser.set_defaults(action="write")


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


def build_project_parser(command: ProjectCommand) -> argparse.ArgumentParser:
    """The parser of ``archit-codemod check`` / ``archit-codemod generate``."""
    parser = argparse.ArgumentParser(
        prog=f"{prog()} {command}",
        usage="%(prog)s [OPTIONS] [TARGET...]",
        description=_DESCRIPTIONS[command],
        allow_abbrev=False,
    )
    parser.add_argument(
        "--project",
        metavar="PYPROJECT",
        type=Path,
        help="the pyproject.toml that lists the targets; default: the nearest one above the working folder "
        "with a [tool.archit_codemod] table",
    )
    _add_output_options(parser)
    parser.add_argument(
        "targets",
        metavar="TARGET",
        nargs="*",
        help="only these targets (by name, or by output as written in pyproject.toml); default: all",
    )
    return parser


def split_at_script(argv: Sequence[str]) -> tuple[list[str], list[str]]:
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


def project_command(argv: Sequence[str]) -> tuple[ProjectCommand, list[str]] | None:
    """``(check or generate, its arguments)`` when ``check`` or ``generate`` stands where SCRIPT would
    (``archit-codemod -q check``), not after ``--``; else ``None`` (the script form)."""
    own, rest = split_at_script(argv)
    if not own or "--" in own:
        return None
    for command in PROJECT_COMMANDS:
        if own[-1] == command:
            return command, [*own[:-1], *rest]
    return None


def parse_run_options(argv: Sequence[str]) -> RunOptions:
    """The script form's options.

    Raises:
        SystemExit: ``--help`` or ``--version`` (status 0, printed), or a usage error (status 2, reported as
            argparse reports it).
    """
    own, script_args = split_at_script(argv)
    parsed = build_parser().parse_args(own)
    output_is_stdout = parsed.output is not None and _is_standard_output(parsed.output)
    action: Action = parsed.action
    writing = WriteOptions(
        output=Path(parsed.output) if parsed.output is not None and not output_is_stdout else None,
        mode=parsed.mode,
        suffix=parsed.suffix,
        prune=parsed.prune,
        save_pretrained=parsed.save_pretrained,
        verify=parsed.verify,
        force=parsed.force,
        action=action,
    )
    return RunOptions(
        script=parsed.script,
        script_args=tuple(script_args),
        writing=writing,
        model=parsed.model,
        output_is_stdout=output_is_stdout,
        color=parsed.color,
        quiet=parsed.quiet,
        regenerate_with=parsed.regenerate_with,
    )


def parse_project_options(command: ProjectCommand, argv: Sequence[str]) -> ProjectOptions:
    """The options of ``check`` or ``generate``. Raises ``SystemExit`` as :func:`parse_run_options` does."""
    parsed = build_project_parser(command).parse_args(list(argv))
    return ProjectOptions(
        command=command,
        project=parsed.project,
        targets=tuple(parsed.targets),
        color=parsed.color,
        quiet=parsed.quiet,
    )


def usage() -> str:
    """The script form's usage lines, as argparse prints them before a usage error."""
    return build_parser().format_usage()


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
