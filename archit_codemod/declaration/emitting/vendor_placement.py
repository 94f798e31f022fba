"""Where each planned class goes in the vendored folder: the file that copies it, and whether it is renamed in place.

A class whose every module in the traced models gets the same plan is renamed in place; a class some modules keep
stays, and its modified versions follow it as subclasses. The script's own classes go to one file of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from archit_codemod.declaration.emitting.vendor_file import reference_renames
from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.planning.plan import ClassPlan, Plan
from archit_codemod.declaration.script import ScriptSource
from archit_codemod.declaration.sources.locate import ParsedSource, module_source


@dataclass(eq=False)
class VendoredFile:
    """One vendored file being assembled."""

    name: str
    parsed: ParsedSource
    is_script: bool
    label: str | None
    in_place: dict[int, ClassPlan] = field(default_factory=dict)
    """``id(original ClassDef)`` -> the plan that renames it in place."""
    copies: dict[int, list[ClassPlan]] = field(default_factory=dict)
    """``id(original ClassDef)`` -> the plans inserted after it (the original stays)."""
    references: dict[int, str] = field(default_factory=dict)
    """``id(node)`` -> new name, for every reference to a class of this file renamed in place."""

    @property
    def module(self) -> str:
        return self.name.removesuffix(".py")

    def plans(self) -> list[ClassPlan]:
        return [*self.in_place.values(), *(plan for plans in self.copies.values() for plan in plans)]


@dataclass
class Placement:
    """The vendored files and the names the planned classes get in them."""

    files: dict[str, VendoredFile]
    """By the original module's name."""
    home: dict[str, str]
    """Generated class name -> its module inside the folder."""
    vendored_names: dict[type, str]
    """Original class -> its name in the vendored files."""
    renames: dict[str, str]
    """Original class name -> its new name, for the classes renamed in place."""
    script_file_name: str
    """The file of the script's definitions: the script's stem, unless a vendored file has that name."""


def place_classes(plan: Plan) -> Placement:
    """The file of each planned class, and whether it is renamed in place or followed by its modified copies."""
    by_class: dict[type, list[ClassPlan]] = {}
    for class_plan in plan.classes:
        by_class.setdefault(class_plan.original, []).append(class_plan)
    files: dict[str, VendoredFile] = {}
    vendored_names: dict[type, str] = {}
    for cls, plans in by_class.items():
        try:
            file = _file_of(files, plan.script, cls)
            class_def = _class_def(file, cls)
        except DeclarationError as error:
            raise DeclarationError(f"{_paths_of(plans)}: {error}") from error
        if len(plans) == 1 and plan.kept_originals.get(cls, 0) == 0:
            file.in_place[id(class_def)] = plans[0]
            vendored_names[cls] = plans[0].name
        else:
            file.copies[id(class_def)] = plans
    script_file_name = _script_file_name(files, plan.script)
    home = {}
    for file in files.values():
        if file.is_script:
            file.name = script_file_name
        file.references = reference_renames(file.parsed, {k: p.name for k, p in file.in_place.items()})
        for class_plan in file.plans():
            home[class_plan.name] = file.module
    renames = {p.original.__name__: p.name for f in files.values() for p in f.in_place.values()}
    return Placement(files, home, vendored_names, renames, script_file_name)


def _file_of(files: dict[str, VendoredFile], script: ScriptSource, cls: type) -> VendoredFile:
    module_name = cls.__module__
    if module_name in files:
        return files[module_name]
    if script.owns(cls):
        file = VendoredFile("", script.source_of(cls) or script.parsed(), True, None)
    else:
        try:
            parsed = module_source(module_name)
        except (TypeError, OSError) as error:
            raise DeclarationError(
                f"Cannot vendor {module_name}.{cls.__qualname__}: its source file cannot be read ({error})."
            ) from error
        name = parsed.path.name
        if name == "__init__.py":
            name = f"{module_name.rpartition('.')[2]}.py"
        clash = [f for f in files.values() if f.name == name]
        if clash:
            raise DeclarationError(
                f"Cannot vendor both {clash[0].parsed.module_name} and {module_name}: both would be {name} in "
                "the output folder. Fix: use --mode subclass for this model."
            )
        label = module_name.replace(".", "/") + (
            "/__init__.py" if parsed.path.name == "__init__.py" else ".py"
        )
        file = VendoredFile(name, parsed, False, label)
    files[module_name] = file
    return file


def _class_def(file: VendoredFile, cls: type) -> cst.ClassDef:
    if "." in cls.__qualname__:
        raise DeclarationError(
            f"Cannot vendor {cls.__qualname__}: it is nested in another class. Fix: use --mode subclass."
        )
    found = [
        s for s in file.parsed.module.body if isinstance(s, cst.ClassDef) and s.name.value == cls.__name__
    ]
    if not found:
        raise DeclarationError(
            f"Cannot vendor {cls.__qualname__}: {file.parsed.path} does not define it at its top level "
            "(it may be defined inside an if/try block). Fix: use --mode subclass."
        )
    return found[-1]


def _script_file_name(files: dict[str, VendoredFile], script: ScriptSource) -> str:
    shown = script.shown_path
    stem = shown.stem if shown is not None else ""
    taken = {f.name for f in files.values() if not f.is_script}
    if stem.isidentifier() and f"{stem}.py" not in taken:
        return f"{stem}.py"
    return "script_definitions.py"


def _paths_of(plans: list[ClassPlan]) -> str:
    """The module paths the plans serve, for a message (the first three)."""
    paths = [str(instance) for plan in plans for instance in plan.instances]
    return ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
