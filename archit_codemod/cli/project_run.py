"""``archit-codemod check`` and ``archit-codemod generate``: every target of the project, one line each.

Each target runs in a process of its own (``python -m archit_codemod ...`` from the folder of the
``pyproject.toml``), as its single-script command would: scripts do not share imported modules, and one that
fails does not stop the others. Standard output gets one result line per target, followed for a target that is
not up to date by its patch; standard error gets that target's messages. The exit status is the worst result:
0 all up to date (or written), 1 some target differs, 2 some target failed (or the configuration is wrong).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from archit_codemod.project import Project, ProjectError, Target, find_config, load_project
from archit_codemod.terminal import Console, wants_colour

__all__ = ["build_project_parser", "run_project"]

_DESCRIPTIONS = {
    "check": "Check that every target listed in the project's pyproject.toml ([tool.archit_codemod]) is what its "
    "script generates now, checkpoints included; write nothing. For CI and pre-commit.",
    "generate": "Regenerate every target listed in the project's pyproject.toml ([tool.archit_codemod]).",
}
_RESULTS = {"check": {0: "ok", 1: "stale"}, "generate": {0: "wrote", 1: "failed"}}


def build_project_parser(command: str) -> argparse.ArgumentParser:
    """The parser of ``archit-codemod check`` / ``archit-codemod generate``."""
    from archit_codemod.cli import _prog, add_output_options

    parser = argparse.ArgumentParser(
        prog=f"{_prog()} {command}",
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
    add_output_options(parser)
    parser.add_argument(
        "targets",
        metavar="TARGET",
        nargs="*",
        help="only these targets (by name, or by output as written in pyproject.toml); default: all",
    )
    return parser


def _selected(project: Project, wanted: Sequence[str]) -> list[Target]:
    if not wanted:
        return list(project.targets)
    by_label = {target.label: target for target in project.targets}
    by_label.update({Path(target.output).as_posix().rstrip("/"): target for target in project.targets})
    unknown = [name for name in wanted if Path(name).as_posix().rstrip("/") not in by_label]
    if unknown:
        raise ProjectError(
            f"{project.config} has no target {unknown[0]!r}. Fix: give one of "
            f"{', '.join(target.label for target in project.targets)}."
        )
    chosen = [by_label[Path(name).as_posix().rstrip("/")] for name in wanted]
    return list(dict.fromkeys(chosen))


def _run_target(command: str, target: Target, project: Project, colour: bool) -> subprocess.CompletedProcess:
    arguments = [sys.executable, "-m", "archit_codemod", "-q", f"--color={'always' if colour else 'never'}"]
    if command == "check":
        arguments.append("--check")
    return subprocess.run(
        [*arguments, *target.arguments()], cwd=project.root, capture_output=True, text=True, check=False
    )


def _worst(codes: Sequence[int]) -> int:
    if any(code not in (0, 1) for code in codes):
        return 2
    return max(codes, default=0)


def run_project(command: str, arguments: Sequence[str]) -> int:
    """Run ``check`` or ``generate`` with ``arguments``; the exit status."""
    parser = build_project_parser(command)
    try:
        options = parser.parse_args(list(arguments))
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 2
    console = Console(color=options.color, quiet=options.quiet)
    try:
        project = load_project(options.project or find_config(Path.cwd()))
        targets = _selected(project, options.targets)
    except (ProjectError, OSError) as failure:
        console.error(str(failure))
        return 2
    colour = wants_colour(options.color, sys.stdout)
    width = max(len(target.label) for target in targets)
    codes = []
    for number, target in enumerate(targets, start=1):
        console.status(f"{command} {target.label} ({number}/{len(targets)})")
        completed = _run_target(command, target, project, colour)
        codes.append(completed.returncode)
        result = _RESULTS[command].get(completed.returncode, "error")
        print(f"{result:<6} {target.label:<{width}}  ({target.script})", flush=True)
        if completed.returncode != 0:
            sys.stdout.write(completed.stdout)
            sys.stdout.flush()
        sys.stderr.write(completed.stderr)
        sys.stderr.flush()
    _summary(command, codes, console)
    return _worst(codes)


def _summary(command: str, codes: Sequence[int], console: Console) -> None:
    counts: dict[str, int] = {}
    for code in codes:
        result = _RESULTS[command].get(code, "error")
        counts[result] = counts.get(result, 0) + 1
    shown = ", ".join(f"{count} {result}" for result, count in counts.items())
    console.info(f"{len(codes)} target{'s' if len(codes) != 1 else ''}: {shown}")
