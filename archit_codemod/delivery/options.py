"""How to generate the declaring code and what to do with it, and what makes such options unusable.

The options are the command line's (``-o``, ``--mode``, ``--suffix``, ``--prune``, ``--save-pretrained``,
``--no-verify``, ``--force``, ``--diff``, ``--diff-original``, ``--check``) as one value, and so are the messages
about them: the Python API takes the same names as keyword arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from archit_codemod.delivery.files import foreign_files, foreign_message, is_stream

__all__ = ["ACTIONS", "MODES", "Action", "Mode", "WriteOptions", "output_problem", "usage_problem"]

Mode = Literal["subclass", "vendor"]
MODES: tuple[Mode, ...] = ("subclass", "vendor")

Action = Literal["write", "diff", "diff-original", "check"]
"""What happens to the verified code: ``write`` it to the output (the default); or write nothing and give the patch
against what is at the output (``diff``), against the original sources (``diff-original``), or that patch and
whether the output, checkpoint included, is up to date (``check``)."""
ACTIONS: tuple[Action, ...] = ("write", "diff", "diff-original", "check")


@dataclass(frozen=True)
class WriteOptions:
    """One generation's options.

    ``output`` is the file (subclass mode) or folder (vendor mode) to write or compare with; ``None``: nowhere
    (subclass mode; the code is returned, or printed by the command line).
    """

    output: Path | None = None
    mode: Mode = "subclass"
    suffix: str = "Modified"
    prune: bool = False
    save_pretrained: bool = False
    verify: bool = True
    force: bool = False
    action: Action = "write"

    @property
    def output_folder(self) -> Path | None:
        """The folder the generated module is imported from: the vendor folder, the output file's folder, or
        ``None`` when there is no output (unknown)."""
        if self.output is None:
            return None
        output = self.output.absolute()
        return output if self.mode == "vendor" else output.parent


def usage_problem(options: WriteOptions) -> str | None:
    """What makes this combination of options unusable, whatever the files are; ``None`` when it is fine."""
    if options.mode not in MODES:
        return f"--mode {options.mode!r}. Fix: --mode subclass or --mode vendor."
    if options.action not in ACTIONS:
        return f"action {options.action!r}. Fix: one of {', '.join(ACTIONS)}."
    if not options.suffix.isidentifier():
        return (
            f"--suffix {options.suffix!r} would not give valid class names. Fix: give a non-empty name of "
            "letters, digits and _ that does not start with a digit (default: Modified)."
        )
    vendor = options.mode == "vendor"
    if options.save_pretrained and not vendor:
        return "--save-pretrained needs --mode vendor (the checkpoint loads with the vendored classes)"
    if options.prune and not vendor:
        return "--prune needs --mode vendor (subclass mode writes only the classes it declares)"
    if options.output is not None:
        return None
    if vendor and options.action != "diff-original":
        return (
            "--mode vendor writes a folder: give it with -o FOLDER "
            "(or review the changes against the originals with --diff-original)"
        )
    if options.action in ("check", "diff"):
        flag = f"--{options.action}"
        return f"{flag} compares with an existing output: give it with -o PATH" + (
            ""
            if options.action == "check"
            else " (or use --diff-original to compare with the original sources)"
        )
    return None


def output_problem(options: WriteOptions) -> str | None:
    """What makes the output unusable for these (usable) options: a path of the wrong kind, or someone's own file
    that would be overwritten; ``None`` when it is fine (a missing folder is created)."""
    output = options.output
    if output is None:
        return None
    vendor = options.mode == "vendor"
    if is_stream(output):
        if vendor or options.action in ("check", "diff"):
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
    elif output.is_dir():
        return f"--output {output} is a folder; in subclass mode give the path of a .py file"
    if options.action == "write" and not options.force:
        foreign = foreign_files(output, vendor)
        if foreign:
            return foreign_message(foreign)
    return None
