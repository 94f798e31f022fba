"""Read a copied ``__init__``: which statements assign an attribute, which of them built a traced module.

The statements are the nodes of the original, parsed source (the edits of a plan are keyed by them). A private
attribute is found under both its spellings: ``self.__cache`` as written, ``_Block__cache`` as stored.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import libcst as cst
import libcst.matchers as m

from archit_codemod.declaration.planning.plan import Assignment
from archit_codemod.declaration.records import ConstructorCall
from archit_codemod.declaration.sources.inline import InitCopy
from archit_codemod.declaration.sources.locate import ClassSource


def self_attribute(self_name: str, attribute: str | Sequence[str]) -> m.Attribute:
    """Matches ``self.<attribute>`` (any of several spellings when given a sequence)."""
    if isinstance(attribute, str):
        return m.Attribute(value=m.Name(self_name), attr=m.Name(attribute))
    return m.Attribute(value=m.Name(self_name), attr=m.OneOf(*[m.Name(a) for a in attribute]))


def written(name: str, class_name: str) -> str:
    """How a private attribute stored as ``name`` is written inside ``class <class_name>`` (``_Block__x`` -> ``__x``)."""
    prefix = f"_{class_name.lstrip('_')}__"
    if name.startswith(prefix) and not name.endswith("__") and len(name) > len(prefix):
        return name[len(prefix) - 2 :]
    return name


class _TopLevelVisitor(cst.CSTVisitor):
    """Visits one function body without descending into nested functions, classes and lambdas."""

    def __init__(self) -> None:
        super().__init__()
        self._depth = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self._depth += 1
        return self._depth == 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._depth -= 1

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False


class AssignmentStatements(_TopLevelVisitor):
    """Collect, in source order, the statements of an ``__init__`` that assign ``self.<attribute>``."""

    def __init__(self, attribute: str | Sequence[str], self_name: str = "self") -> None:
        super().__init__()
        self.target = self_attribute(self_name, attribute)
        self.found: list[Assignment] = []

    def leave_Assign(self, original_node: cst.Assign) -> None:
        if self._depth == 1 and any(m.findall(t.target, self.target) for t in original_node.targets):
            self.found.append(original_node)

    def leave_AnnAssign(self, original_node: cst.AnnAssign) -> None:
        if (
            self._depth == 1
            and original_node.value is not None
            and m.matches(original_node.target, self.target)
        ):
            self.found.append(original_node)


class _AttributeUses(_TopLevelVisitor):
    """Count reads of ``self.<attribute>``, and writes into it (``self.qkv.bias = ...``)."""

    def __init__(self, attribute: str | Sequence[str], self_name: str = "self") -> None:
        super().__init__()
        self.target = self_attribute(self_name, attribute)
        inside = m.Attribute(value=self.target) | m.Subscript(value=self.target)
        self.inside = inside
        self.reads = 0
        self.mutations = 0
        self._targets: set[int] = set()

    def _mark_target(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Tuple | cst.List):
            for element in target.elements:
                self._mark_target(element.value)
        elif m.matches(target, self.target):
            self._targets.add(id(target))
        elif m.matches(target, self.inside):
            self.mutations += 1

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._mark_target(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._mark_target(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._mark_target(node.target)

    def visit_Del(self, node: cst.Del) -> None:
        self._mark_target(node.target)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if m.matches(node, self.target) and id(node) not in self._targets:
            self.reads += 1


def is_rewritable(statement: Assignment, target: m.Attribute) -> bool:
    """Whether the value ``statement`` gives to the matched attribute can be singled out and replaced."""
    if isinstance(statement, cst.AnnAssign):
        return True
    if len(statement.targets) != 1:
        return False  # self.x = self.y = value
    [assigned] = [t.target for t in statement.targets]
    if m.matches(assigned, target):
        return True
    if isinstance(assigned, cst.Tuple | cst.List) and any(
        m.matches(e.value, target) for e in assigned.elements
    ):
        value = statement.value
        return isinstance(value, cst.Tuple | cst.List) and len(value.elements) == len(assigned.elements)
    return False


class InitStatements:
    """The statements of one copied ``__init__`` (its own body and the ancestor bodies it inlines)."""

    def __init__(self, copy: InitCopy) -> None:
        self.copy = copy
        self.merged = copy.function()
        """The merged ``__init__``; its assignments are the original nodes."""
        self.self_name = copy.fragments[0].self_name
        self._assigning: dict[str, list[Assignment]] = {}
        self._uses: dict[str, _AttributeUses] = {}

    def spellings(self, name: str) -> list[str]:
        return sorted({name} | {written(name, source.definer.__name__) for source in self.copy.fragments})

    def assigning(self, name: str) -> list[Assignment]:
        """The statements that assign ``self.<name>``, in source order."""
        if name not in self._assigning:
            collector = AssignmentStatements(self.spellings(name), self.self_name)
            self.merged.visit(collector)
            self._assigning[name] = collector.found
        return self._assigning[name]

    def rewritable(self, name: str, built: ConstructorCall | None) -> list[Assignment]:
        """The statements whose value for ``self.<name>`` to replace: those that built the traced module.

        The tracer recorded the line of the module's constructor call; only the statement containing that line
        is rewritten (``if``/``else`` branches that did not run stay as written). Every assignment when the line
        is unknown or in another file. Statements whose value cannot be singled out are left out.
        """
        target = self_attribute(self.self_name, self.spellings(name))
        statements = [s for s in self.assigning(name) if is_rewritable(s, target)]
        if built is None:
            return statements
        return [statement for statement in statements if self._holds(statement, built)] or statements

    def made_at(self, built: ConstructorCall) -> cst.SimpleStatementLine | None:
        """The statement line of the copied ``__init__`` that holds the recorded constructor call, or ``None``."""
        return next(
            (line for line in m.findall(self.merged, m.SimpleStatementLine()) if self._holds(line, built)),
            None,
        )

    def builds_here(self, name: str, built: ConstructorCall) -> bool:
        """Whether a statement assigning ``self.<name>`` holds the recorded constructor call."""
        return any(self._holds(statement, built) for statement in self.assigning(name))

    def _holds(self, node: cst.CSTNode, built: ConstructorCall) -> bool:
        lines = self.copy.lines_of(node)
        return (
            lines is not None
            and lines[0] == _resolved(built.filename)
            and lines[1] <= built.lineno <= lines[2]
        )

    def source_of(self, statements: Sequence[cst.CSTNode]) -> ClassSource:
        """The class whose ``__init__`` holds the first of ``statements``: its globals resolve their names."""
        for statement in statements:
            source = self.copy.fragment_of(statement)
            if source is not None:
                return source
        return self.copy.fragments[0]

    def _uses_of(self, name: str) -> _AttributeUses:
        if name not in self._uses:
            uses = _AttributeUses(self.spellings(name), self.self_name)
            self.merged.visit(uses)
            self._uses[name] = uses
        return self._uses[name]

    def reads(self, name: str) -> int:
        return self._uses_of(name).reads

    def mutates(self, name: str) -> bool:
        """Whether the ``__init__`` assigns into ``self.<name>`` (``self.qkv.bias = nn.Parameter(...)``)."""
        return self._uses_of(name).mutations > 0


@functools.lru_cache(maxsize=256)
def _resolved(filename: str) -> Path:
    return Path(filename).resolve()
