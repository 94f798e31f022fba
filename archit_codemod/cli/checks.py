"""Every option of the script form checked before the script runs (a run may take minutes).

Each problem is one message that ends with what to do. A usage problem is about the options alone (the usage
lines precede it); an output problem about the paths they name.
"""

from __future__ import annotations

from pathlib import Path

from archit_codemod.cli.options import RunOptions
from archit_codemod.delivery import options as delivery_options

__all__ = ["missing_check_output", "output_problem", "usage_problem"]


def usage_problem(options: RunOptions) -> str | None:
    """What makes this combination of options unusable; ``None`` when it is fine."""
    writing = options.writing
    if options.output_is_stdout and writing.mode == "vendor":
        return "--mode vendor writes a folder, not standard output. Fix: give the folder with -o FOLDER."
    return delivery_options.usage_problem(writing)


def output_problem(options: RunOptions) -> str | None:
    """What makes the output unusable (of the wrong kind, the script itself, someone's own file); ``None`` when
    it is fine."""
    output = options.writing.output
    if (
        output is not None
        and options.writing.mode == "subclass"
        and output.is_file()
        and output.resolve() == Path(options.script).resolve()
    ):
        return f"--output {output} is the script itself; write the generated classes to another file"
    return delivery_options.output_problem(options.writing)


def missing_check_output(options: RunOptions) -> str | None:
    """``--check`` of an output that does not exist: the message (exit 1, the script is not run)."""
    output = options.writing.output
    if options.writing.action != "check" or output is None or output.exists():
        return None
    kind = "folder" if options.writing.mode == "vendor" else "file"
    fix = (
        f"generate it first: {options.regenerate_with}"
        if options.regenerate_with is not None
        else "generate it first, with the same command without --check"
    )
    return f"{output}: no such {kind}, so there is nothing to check. Fix: {fix}."
