"""Lazy imports of optional packages kept loadable as transformers remote code.

``from_pretrained(..., trust_remote_code=True)`` refuses a model file that imports a package that is not
installed (transformers' ``check_imports``), wherever the import is, unless it sits in a ``try`` block. An
import inside a function of a vendored file is a lazy import of an optional package (``import deepspeed``
under ``if is_deepspeed_zero3_enabled():`` in transformers' DistilBERT and speech models), so the copy wraps it:

    import deepspeed   ->   try:
                                import deepspeed
                            except ImportError:  # optional: transformers loads remote code with it absent
                                raise

The handler re-raises, so the file behaves exactly as the original. Imports of a package the file also
imports at module level, and relative imports (the file's own library), are needed anyway and stay as they are.
"""

from __future__ import annotations

import libcst as cst

_HANDLER = cst.parse_statement(
    "try:\n    pass\n"
    "except ImportError:  # optional: transformers loads remote code with it absent (check_imports)\n"
    "    raise\n"
)


def _top_packages(statement: cst.SimpleStatementLine) -> set[str] | None:
    """The top-level packages an import line imports absolutely; ``None`` for any other line."""
    packages: set[str] = set()
    for small in statement.body:
        if isinstance(small, cst.Import):
            packages |= {cst.helpers.get_full_name_for_node(a.name).split(".")[0] for a in small.names}
        elif isinstance(small, cst.ImportFrom):
            if small.relative or small.module is None:
                return set()
            packages.add(cst.helpers.get_full_name_for_node(small.module).split(".")[0])
        else:
            return None
    return packages


class GuardLazyImports(cst.CSTTransformer):
    """Wrap each import inside a function (and not already in a ``try``) of a package that the module does not
    import at its top level in ``try``/``except ImportError: raise``."""

    def __init__(self) -> None:
        super().__init__()
        self._functions = 0
        self._tries = 0
        self._required: set[str] = set()

    def visit_Module(self, node: cst.Module) -> None:
        for statement in node.body:
            if isinstance(statement, cst.SimpleStatementLine):
                self._required |= _top_packages(statement) or set()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions += 1

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        self._functions -= 1
        return updated_node

    def visit_Try(self, node: cst.Try) -> None:
        self._tries += 1

    def leave_Try(self, original_node: cst.Try, updated_node: cst.Try) -> cst.Try:
        self._tries -= 1
        return updated_node

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement:
        if not self._functions or self._tries:
            return updated_node
        packages = _top_packages(original_node)
        if not packages or packages <= self._required:
            return updated_node
        assert isinstance(_HANDLER, cst.Try)
        guarded = updated_node.with_changes(leading_lines=())
        return _HANDLER.with_changes(
            body=_HANDLER.body.with_changes(body=[guarded]), leading_lines=updated_node.leading_lines
        )
