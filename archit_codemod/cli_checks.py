"""Every option of the script form checked before the script runs (a run may take minutes).

Each problem is one message that ends with what to do.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from archit_codemod.writing import foreign_files, foreign_message

__all__ = ["missing_check_output", "usage_problem"]


def _mode_problem(options: argparse.Namespace) -> str | None:
    vendor = options.mode == "vendor"
    if options.save_pretrained and not vendor:
        return "--save-pretrained needs --mode vendor (the checkpoint loads with the vendored classes)"
    if options.prune and not vendor:
        return "--prune needs --mode vendor (subclass mode writes only the classes it declares)"
    if vendor and options.output is None:
        if getattr(options, "output_is_stdout", False):
            return "--mode vendor writes a folder, not standard output. Fix: give the folder with -o FOLDER."
        if not options.diff_original:
            return (
                "--mode vendor writes a folder: give it with -o FOLDER "
                "(or review the changes against the originals with --diff-original)"
            )
    if options.output is None and (options.check or options.diff):
        flag = "--check" if options.check else "--diff"
        return f"{flag} compares with an existing output: give it with -o PATH" + (
            "" if options.check else " (or use --diff-original to compare with the original sources)"
        )
    return None


def _output_problem(options: argparse.Namespace) -> str | None:
    from archit_codemod.delivery import is_stream

    output = Path(options.output)
    vendor = options.mode == "vendor"
    if not output.absolute().parent.is_dir():
        return (
            f"--output {output}: the folder {output.absolute().parent} does not exist. Fix: create it first."
        )
    if is_stream(output):
        if vendor or options.check or options.diff:
            return f"--output {output} is not a regular file. Fix: give the path of a file or a folder."
        return None
    if vendor:
        if output.exists() and not output.is_dir():
            return f"--output {output} is a file; in vendor mode give the path of a folder"
        if not output.exists() and output.suffix == ".py":
            return (
                f"--output {output}: vendor mode writes a folder, and {output.name} looks like a file name. "
                f"Fix: give a folder, e.g. -o {output.with_suffix('')}/"
            )
        return None
    if output.is_dir():
        return f"--output {output} is a folder; in subclass mode give the path of a .py file"
    if output.exists() and output.resolve() == Path(options.script).resolve():
        return f"--output {output} is the script itself; write the generated classes to another file"
    return None


def usage_problem(options: argparse.Namespace) -> str | None:
    """What makes these options unusable, checked before the script runs; ``None`` when fine."""
    if not options.suffix.isidentifier():
        return (
            f"--suffix {options.suffix!r} would not give valid class names. Fix: give a non-empty name of "
            "letters, digits and _ that does not start with a digit (default: Modified)."
        )
    problem = _mode_problem(options)
    if problem is not None or options.output is None:
        return problem
    problem = _output_problem(options)
    if problem is not None:
        return problem
    if not (options.diff or options.diff_original or options.check or options.force):
        foreign = foreign_files(Path(options.output), options.mode == "vendor")
        if foreign:
            return foreign_message(foreign)
    return None


def missing_check_output(options: argparse.Namespace) -> str | None:
    """``--check`` of an output that does not exist: the message (exit 1, the script is not run)."""
    if not options.check or Path(options.output).exists():
        return None
    kind = "folder" if options.mode == "vendor" else "file"
    return (
        f"{options.output}: no such {kind}, so there is nothing to check. Fix: generate it first, with the "
        "same command without --check."
    )
