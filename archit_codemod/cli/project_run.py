"""``archit-codemod check`` and ``archit-codemod generate``: every target of the project, one line each.

Each target runs in a process of its own (``python -m archit_codemod ...`` from the folder of the
``pyproject.toml``), as its single-script command would: scripts do not share imported modules, and one that
fails does not stop the others. Standard output gets one result line per target, followed for a target that is
not up to date by its patch; standard error gets that target's messages. The exit status is the worst result:
0 all up to date (or written), 1 some target differs, 2 some target failed (or the configuration is wrong).
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from archit_codemod.cli.console import Console, report_interrupted, wants_colour
from archit_codemod.cli.exit_status import ExitStatus
from archit_codemod.cli.options import ProjectCommand, ProjectOptions
from archit_codemod.cli.parser import parse_project_options, prog
from archit_codemod.cli.project_config import Project, ProjectError, Target, find_config, load_project

__all__ = ["run_project"]

_RESULTS: dict[ProjectCommand, dict[int, str]] = {
    "check": {ExitStatus.DONE: "ok", ExitStatus.FAILED: "stale"},
    "generate": {ExitStatus.DONE: "wrote", ExitStatus.FAILED: "failed"},
}
_QUIET_RESULTS = frozenset({"ok", "wrote"})
"""The result lines ``-q`` leaves out, as it leaves out the script form's 'wrote' and 'up to date'."""


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


def _run_target(
    command: ProjectCommand, target: Target, project: Project, colour: bool
) -> subprocess.CompletedProcess[str]:
    """Run one target in a process of its own, as its script-form command (``--check`` for ``check``)."""
    arguments = [sys.executable, "-m", "archit_codemod", "-q", f"--color={'always' if colour else 'never'}"]
    if command == "check":
        # The fix for a stale target is the project command, not the script form the target runs as.
        arguments += ["--check", "--regenerate-with", f"{prog()} generate {shlex.quote(target.label)}"]
    return subprocess.run(
        [*arguments, *target.arguments()], cwd=project.root, capture_output=True, text=True, check=False
    )


def _worst(codes: Sequence[int]) -> ExitStatus:
    if any(code not in (ExitStatus.DONE, ExitStatus.FAILED) for code in codes):
        return ExitStatus.ERROR
    return ExitStatus(max(codes, default=ExitStatus.DONE))


def run_project(command: ProjectCommand, arguments: Sequence[str]) -> int:
    """Run ``check`` or ``generate`` with ``arguments``; the exit status."""
    try:
        options = parse_project_options(command, arguments)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else ExitStatus.ERROR
    console = Console(color=options.color, quiet=options.quiet)
    try:
        project = load_project(options.project or find_config(Path.cwd()))
        targets = _selected(project, options.targets)
    except (ProjectError, OSError) as failure:
        console.error(str(failure))
        return ExitStatus.ERROR
    colour = wants_colour(options.color, sys.stdout)
    width = max(len(target.label) for target in targets)
    codes: list[int] = []
    try:
        for number, target in enumerate(targets, start=1):
            console.status(f"{command} {target.label} ({number}/{len(targets)})")
            completed = _run_target(command, target, project, colour)
            codes.append(completed.returncode)
            _show(command, target, completed, width, options)
    except KeyboardInterrupt:
        # Targets written before Ctrl-C stay written (each was written atomically by its own process).
        report_interrupted(_written(command, targets, codes))
        return ExitStatus.INTERRUPTED
    _summary(command, codes, console)
    return _worst(codes)


def _show(
    command: ProjectCommand,
    target: Target,
    completed: subprocess.CompletedProcess[str],
    width: int,
    options: ProjectOptions,
) -> None:
    """The target's result line (left out by ``-q`` when all is well), its patch when it is not, its messages."""
    result = _RESULTS[command].get(completed.returncode, "error")
    if not (options.quiet and result in _QUIET_RESULTS):
        print(f"{result:<6} {target.label:<{width}}  ({target.script})", flush=True)
    if completed.returncode != ExitStatus.DONE:
        sys.stdout.write(completed.stdout)
        sys.stdout.flush()
    sys.stderr.write(completed.stderr)
    sys.stderr.flush()


def _written(command: ProjectCommand, targets: Sequence[Target], codes: Sequence[int]) -> list[str]:
    """The labels of the targets ``generate`` wrote, given the exit statuses of those that ran."""
    if command != "generate":
        return []
    ran = targets[: len(codes)]
    return [target.label for target, code in zip(ran, codes, strict=True) if code == ExitStatus.DONE]


def _summary(command: ProjectCommand, codes: Sequence[int], console: Console) -> None:
    counts: dict[str, int] = {}
    for code in codes:
        result = _RESULTS[command].get(code, "error")
        counts[result] = counts.get(result, 0) + 1
    shown = ", ".join(f"{count} {result}" for result, count in counts.items())
    console.info(f"{len(codes)} target{'s' if len(codes) != 1 else ''}: {shown}")
