"""Command line: ``python -m archit_codemod [OPTIONS] SCRIPT [SCRIPT_ARGS...]`` (contract in DESIGN.md).

Runs SCRIPT under the runtime tracer, finds the models it modified, generates the classes that declare
the modifications, verifies them and writes them out. Exit status: 0 done; 1 ``--check`` found a
difference, verification failed, or nothing was modified; 2 usage error, the script raised, or a
modification cannot be rendered.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

import archit_codemod
from archit_codemod.declaration.errors import (
    DeclarationError,
    NothingModifiedError,
    ScriptError,
    VerificationError,
)

__all__ = ["EXIT_DIFFERENT", "EXIT_ERROR", "EXIT_OK", "build_parser", "main", "write_atomically"]

EXIT_OK = 0
EXIT_DIFFERENT = 1  # --check found a difference, verification failed, or nothing was modified
EXIT_ERROR = 2  # usage error, the script raised, or a modification cannot be rendered

_EXIT_CODES: dict[type[Exception], int] = {
    ScriptError: EXIT_ERROR,
    DeclarationError: EXIT_ERROR,
    NothingModifiedError: EXIT_DIFFERENT,
    VerificationError: EXIT_DIFFERENT,
}

# Options that take a value: needed to find SCRIPT, the first argument that is not an option or its value.
_OPTIONS_WITH_VALUE = frozenset({"-o", "--output", "--mode", "--suffix", "--model"})
# Features of the vendoring issue; until it lands they are refused before the script runs.
_NOT_YET_SUPPORTED = {
    "vendor": "--mode vendor is not supported yet; use the default --mode subclass",
    "diff": "--diff is not supported yet; write the subclasses with -o FILE and review them instead",
    "check": "--check is not supported yet; compare the output of -o with your file instead",
}


def _prog() -> str:
    return "python -m archit_codemod" if Path(sys.argv[0]).name == "__main__.py" else "archit-codemod"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the command line (options before SCRIPT; the rest goes to the script)."""
    parser = argparse.ArgumentParser(
        prog=_prog(),
        usage="%(prog)s [OPTIONS] SCRIPT [SCRIPT_ARGS...]",
        description=(
            "Run SCRIPT, which modifies a PyTorch model in place, and write classes that declare "
            "the modified model in code. Options come before SCRIPT; everything after SCRIPT is "
            "passed to the script. When the code goes to standard output, the script's own output "
            "goes to standard error."
        ),
        allow_abbrev=False,
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="file (subclass mode) or folder (vendor mode) to write; default: standard output",
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
    parser.add_argument(
        "--diff",
        action="store_true",
        help="print a unified diff against the original sources, write nothing",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when --output differs from what would be generated",
    )
    parser.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="skip checking that the generated classes rebuild the traced model",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {archit_codemod.__version__}")
    # SCRIPT_ARGS is not an argparse argument: _split_at_script hands it to the script untouched.
    parser.add_argument(
        "script",
        metavar="SCRIPT",
        help="the Python script that modifies the model, followed by its own arguments (SCRIPT_ARGS)",
    )
    return parser


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


def _usage_problem(options: argparse.Namespace) -> str | None:
    """What makes these options unusable, checked before the script runs; ``None`` when fine."""
    if options.mode == "vendor":
        return _NOT_YET_SUPPORTED["vendor"]
    if options.diff:
        return _NOT_YET_SUPPORTED["diff"]
    if options.check:
        return _NOT_YET_SUPPORTED["check"]
    if not f"A{options.suffix}".isidentifier():
        return f"--suffix {options.suffix!r} would not give valid class names; use letters, digits and _"
    if options.output is not None:
        output = Path(options.output)
        if output.is_dir():
            return f"--output {output} is a folder; in subclass mode give the path of a .py file"
        if not output.absolute().parent.is_dir():
            return f"--output {output}: the folder {output.absolute().parent} does not exist; create it first"
        if output.exists() and output.resolve() == Path(options.script).resolve():
            return f"--output {output} is the script itself; write the generated classes to another file"
    return None


def _error(message: str) -> None:
    print(f"archit_codemod: error: {message}", file=sys.stderr)


def _report_warnings(caught: list[warnings.WarningMessage], generated: Any) -> None:
    """Show the codemod's warnings (e.g. a new attribute ``forward`` does not use) on standard error."""
    package_dir = os.path.dirname(archit_codemod.__file__) + os.sep
    for warning in caught:
        if str(warning.filename).startswith(package_dir):
            print(f"archit_codemod: warning: {warning.message}", file=sys.stderr)
        else:
            print(
                warnings.formatwarning(
                    warning.message, warning.category, warning.filename, warning.lineno, warning.line
                ),
                end="",
                file=sys.stderr,
            )
    for message in getattr(generated, "warnings", None) or ():
        print(f"archit_codemod: warning: {message}", file=sys.stderr)


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` by ``text`` in one step: a temporary file in the same folder, then ``os.replace``.

    A reader never sees a half-written file, and a failure leaves the previous file untouched.
    """
    path = path.absolute()
    if path.exists():
        mode = path.stat().st_mode & 0o777
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def _script_output_to(stream: TextIO | None) -> Iterator[None]:
    if stream is None:
        yield
    else:
        with contextlib.redirect_stdout(stream):
            yield


def _declare(options: argparse.Namespace) -> str:
    """Trace the script, generate and verify the classes; their source. Raises the declaration errors."""
    # Imported here: the tracer pulls in torch and the codemod LibCST, neither needed for --help.
    from archit_codemod.declaration.roots import find_roots
    from archit_codemod.declaration.tracer import run_script

    trace = run_script(options.script, options.script_args)
    roots = find_roots(trace, options.model)
    from archit_codemod.declaration import api

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        generated = api.generate(trace, roots, suffix=options.suffix)
        if options.verify:
            api.verify(generated, trace, roots)
    _report_warnings(caught, generated)
    return generated.source


def _deliver(source: str, options: argparse.Namespace) -> None:
    """Write the generated source where the options say (the vendor/diff/check variants slot in here)."""
    if options.output is None:
        sys.stdout.write(source)
        sys.stdout.flush()
    else:
        write_atomically(Path(options.output), source)
        print(f"archit_codemod: wrote {options.output}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); the exit status."""
    parser = build_parser()
    try:
        options = _parse(parser, sys.argv[1:] if argv is None else argv)
    except SystemExit as stop:  # --help, --version, or a usage error argparse already reported
        return stop.code if isinstance(stop.code, int) else EXIT_ERROR
    problem = _usage_problem(options)
    if problem is not None:
        parser.print_usage(sys.stderr)
        _error(problem)
        return EXIT_ERROR

    # With the code on standard output, keep the script's prints out of it.
    script_output = sys.stderr if options.output is None else None
    try:
        with _script_output_to(script_output):
            source = _declare(options)
    except ScriptError as failure:
        message = str(failure)
        # A traceback or syntax error gets a heading; a one-line message (no such file...) is complete.
        _error(f"{options.script} failed:\n{message}" if "\n" in message else message)
        return EXIT_ERROR
    except tuple(_EXIT_CODES) as failure:
        _error(str(failure))
        return next(code for kind, code in _EXIT_CODES.items() if isinstance(failure, kind))
    try:
        _deliver(source, options)
    except OSError as failure:
        _error(f"cannot write {options.output}: {failure}")
        return EXIT_ERROR
    return EXIT_OK
