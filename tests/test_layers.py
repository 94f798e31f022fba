"""The layers of the package import downwards only: the command line (``archit_codemod.cli``) uses the library
(``archit_codemod.delivery``), which uses the core (``declaration``, ``instantiation``); the core imports nothing
of the package but the core (and ``util``), so it can be used, and tested, without the layers above it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "archit_codemod"
CORE = ("declaration", "instantiation")
CORE_MAY_IMPORT = (
    "archit_codemod.declaration",
    "archit_codemod.instantiation",
    "archit_codemod.util",
    "archit_codemod._version_check",
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth of its code: ``import x.y``, ``from x import y`` (as ``x`` and
    ``x.y``, ``y`` may be a module), relative imports resolved, and ``importlib.import_module("x")``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return found


def _outside_the_core(module: str) -> bool:
    """A module of the package that is not the core's (the package itself, ``import archit_codemod``, is fine)."""
    if module == "archit_codemod" or not module.startswith("archit_codemod."):
        return False
    return not any(module == allowed or module.startswith(f"{allowed}.") for allowed in CORE_MAY_IMPORT)


CORE_FILES = sorted(path for half in CORE for path in (PACKAGE / half).rglob("*.py"))


def test_the_import_parser_sees_the_imports_it_looks_for(tmp_path: Path):
    """Guards the test below against passing because it reads nothing."""
    found = imported_modules(PACKAGE / "cli" / "entry.py")
    assert "archit_codemod.cli.console" in found and "archit_codemod.cli.run" in found
    assert any(_outside_the_core(module) for module in imported_modules(PACKAGE / "__main__.py"))
    assert len(CORE_FILES) > 50


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_the_core_imports_nothing_of_the_command_line_or_the_library_above_it(path: Path):
    above = sorted(module for module in imported_modules(path) if _outside_the_core(module))
    assert not above, f"{path.relative_to(PACKAGE)} imports {above}: move what it needs into the core"
