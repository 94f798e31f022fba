"""What one run generates, the same for both modes: files, where the root classes are, and warnings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Mode = Literal["subclass", "vendor"]
"""How a declaration is written: one module of subclasses, or edited copies of the original files."""


@dataclass(frozen=True)
class GeneratedFile:
    """One file of the output."""

    name: str
    """File name inside the output (``modeling_roberta.py``; the subclass module's is its own)."""
    text: str
    original_label: str | None = None
    """Where the original lives, as a reviewer knows it (``transformers/models/roberta/modeling_roberta.py``);
    ``None`` for a file with no original (the subclass module, the script's definitions)."""
    original_text: str = ""

    @property
    def module(self) -> str:
        return self.name.removesuffix(".py")


@dataclass(frozen=True)
class Output:
    """The generated files, importable together as one package (subclass mode is a package of one file)."""

    mode: Mode
    files: tuple[GeneratedFile, ...]
    roots: dict[str, tuple[str, str]]
    """Root name -> ``(module inside the package, class name)``."""
    classes: dict[str, tuple[type, str]] = field(default_factory=dict)
    """Generated class name -> ``(the class it declares, module inside the package)``."""
    warnings: tuple[str, ...] = ()
    copied_classes: dict[str, type] = field(default_factory=dict)
    """Class name -> the class of a module beside the script whose definition the output copies as it is (the
    output's users cannot import that module)."""
    replays: dict[Callable[..., Any], tuple[str, ...]] = field(default_factory=dict)
    """Each library function the generated classes call to make a recorded call again
    (``inject_adapter_in_model``) -> the paths of the modules such calls change."""

    @property
    def source(self) -> str:
        """The text of the single file of subclass mode."""
        if len(self.files) != 1:
            raise ValueError(f"{self.mode} mode generated {len(self.files)} files, not one")
        return self.files[0].text

    @property
    def root_classes(self) -> dict[str, str]:
        """Root name -> generated class name."""
        return {root: class_name for root, (_, class_name) in self.roots.items()}
