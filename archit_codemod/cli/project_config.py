"""The project's generated outputs, as listed in its ``pyproject.toml``::

    [tool.archit_codemod]
    suffix = "Modified"                      # optional: defaults for every target

    [[tool.archit_codemod.targets]]
    script = "scripts/modify_model.py"
    args = ["--size", "tiny"]
    output = "models/declared.py"

    [[tool.archit_codemod.targets]]
    script = "scripts/modify_model.py"
    output = "checkpoints/my-model"
    mode = "vendor"
    save-pretrained = true

Paths are relative to the folder of the ``pyproject.toml``. ``archit-codemod check`` and ``archit-codemod
generate`` run every target (see :mod:`archit_codemod.cli.project_run`).
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archit_codemod.delivery.options import MODES, Mode

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["TARGET_KEYS", "Project", "ProjectError", "Target", "find_config", "load_project"]

TARGET_KEYS: dict[str, str] = {
    "script": "the script that modifies the model (required)",
    "output": "the generated file (subclass mode) or folder (vendor mode) (required)",
    "args": "the script's arguments, a list of strings; default: none",
    "name": "what the one-line result calls the target, and how TARGET selects it; default: the output",
    "mode": '"subclass" or "vendor"; default: "subclass"',
    "suffix": 'appended to each generated class name; default: "Modified"',
    "model": "the script global holding the model; default: every modified root model",
    "prune": "vendor mode: leave out what the modified models do not use (--prune); default: false",
    "save-pretrained": "vendor mode: also save config and weights (--save-pretrained); default: false",
    "verify": "check that the generated classes rebuild the traced model; default: true",
}
"""Each key of a target, and what it means. Every key but ``script``, ``output``, ``args`` and ``name`` may also
be set in ``[tool.archit_codemod]`` itself, as the default of every target."""

_PER_TARGET_ONLY = frozenset({"script", "output", "args", "name"})
_DEFAULT_KEYS = tuple(key for key in TARGET_KEYS if key not in _PER_TARGET_ONLY)
_TYPES: dict[str, type] = {"prune": bool, "save-pretrained": bool, "verify": bool}
_VENDOR_ONLY = ("prune", "save-pretrained")


class ProjectError(Exception):
    """The project's configuration is missing or wrong (exit code 2); the message says how to fix it."""


@dataclass(frozen=True)
class Target:
    """One generated output and the command that generates it."""

    script: str
    output: str
    args: tuple[str, ...] = ()
    name: str | None = None
    mode: Mode = "subclass"
    suffix: str | None = None
    model: str | None = None
    prune: bool = False
    save_pretrained: bool = False
    verify: bool = True

    @property
    def label(self) -> str:
        return self.name or self.output

    def arguments(self) -> list[str]:
        """The command-line arguments that generate this target (``-o OUTPUT ... SCRIPT ARGS``)."""
        options = ["--mode", self.mode, "-o", self.output]
        if self.suffix is not None:
            options += ["--suffix", self.suffix]
        if self.model is not None:
            options += ["--model", self.model]
        options += ["--prune"] * self.prune + ["--save-pretrained"] * self.save_pretrained
        options += [] if self.verify else ["--no-verify"]
        # `--` keeps a script named like an option, or like `check`, a script.
        return [*options, "--", self.script, *self.args]


@dataclass(frozen=True)
class Project:
    config: Path
    targets: tuple[Target, ...]

    @property
    def root(self) -> Path:
        """The folder target paths are relative to."""
        return self.config.parent


def _table(path: Path) -> dict[str, Any] | None:
    try:
        with path.open("rb") as stream:
            data = tomllib.load(stream)
    except tomllib.TOMLDecodeError as error:
        raise ProjectError(f"{path}: not valid TOML ({error}). Fix: correct the file.") from error
    table = data.get("tool", {}).get("archit_codemod")
    return table if isinstance(table, dict) else None


def find_config(start: Path) -> Path:
    """The nearest ``pyproject.toml`` at or above ``start`` that has a ``[tool.archit_codemod]`` table."""
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file() and _table(candidate) is not None:
            return candidate
    raise ProjectError(
        f"no pyproject.toml with a [tool.archit_codemod] table in {start} or above. Fix: list the generated "
        "outputs there ([[tool.archit_codemod.targets]] with script and output), or pass --project PATH."
    )


def _check_value(key: str, value: Any, where: str) -> None:
    if key == "args":
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ProjectError(f'{where}: args must be a list of strings. Fix: args = ["--size", "tiny"].')
    elif key == "mode":
        if value not in MODES:
            raise ProjectError(f'{where}: mode = {value!r}. Fix: mode = "subclass" or mode = "vendor".')
    elif not isinstance(value, _TYPES.get(key, str)):
        kind, example = ("true or false", "true") if _TYPES.get(key) is bool else ("a string", '"..."')
        raise ProjectError(f"{where}: {key} = {value!r} must be {kind}. Fix: {key} = {example}.")


def _target(entry: Any, defaults: dict[str, Any], where: str) -> Target:
    if not isinstance(entry, dict):
        raise ProjectError(f"{where}: not a table. Fix: write it as [[tool.archit_codemod.targets]].")
    unknown = sorted(set(entry) - set(TARGET_KEYS))
    if unknown:
        raise ProjectError(
            f"{where}: unknown key {unknown[0]!r}{_did_you_mean(unknown[0], TARGET_KEYS)}. "
            f"Fix: use only {', '.join(TARGET_KEYS)}."
        )
    for key in ("script", "output"):
        if key not in entry:
            raise ProjectError(
                f'{where}: no {key}. Fix: add {key} = "..." (a path relative to pyproject.toml).'
            )
    merged = {**defaults, **entry}
    for key, value in merged.items():
        _check_value(key, value, where)
    if merged.get("mode", "subclass") != "vendor":
        for key in _VENDOR_ONLY:
            if merged.get(key):
                raise ProjectError(
                    f'{where}: {key} = true needs mode = "vendor" (subclass mode writes one module). '
                    f'Fix: add mode = "vendor", or remove {key}.'
                )
    fields = {key.replace("-", "_"): value for key, value in merged.items()}
    fields["args"] = tuple(fields.get("args", ()))
    return Target(**fields)


def _did_you_mean(key: str, known: tuple[str, ...] | dict[str, str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def load_project(config: Path) -> Project:
    """The targets of ``config`` (a ``pyproject.toml``), checked.

    Raises:
        ProjectError: the table is missing, has unknown keys or values of the wrong type, or lists no target.
    """
    table = _table(config)
    if table is None:
        raise ProjectError(f"{config} has no [tool.archit_codemod] table. Fix: add one with its targets.")
    defaults = {key: value for key, value in table.items() if key != "targets"}
    for key in sorted(defaults):
        if key in _PER_TARGET_ONLY:
            raise ProjectError(
                f"{config}: [tool.archit_codemod] has the key {key!r}, which is not a default for targets. "
                "Fix: put script, output, args and name in each [[tool.archit_codemod.targets]]."
            )
        if key not in _DEFAULT_KEYS:
            raise ProjectError(
                f"{config}: [tool.archit_codemod] has an unknown key {key!r}{_did_you_mean(key, _DEFAULT_KEYS)}. "
                f"Fix: use only {', '.join(_DEFAULT_KEYS)} there (the defaults of every target), and targets."
            )
    entries = table.get("targets")
    if not isinstance(entries, list) or not entries:
        raise ProjectError(
            f"{config}: [tool.archit_codemod] lists no targets. Fix: add [[tool.archit_codemod.targets]] "
            'tables with script = "..." and output = "...".'
        )
    targets = tuple(
        _target(entry, defaults, f"{config}: target {index}") for index, entry in enumerate(entries, start=1)
    )
    labels = [target.label for target in targets]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise ProjectError(f"{config}: two targets are called {duplicates[0]}. Fix: give each a name.")
    return Project(config=config.resolve(), targets=targets)
