"""Make a copied ``__init__`` run in a subclass of the class that wrote it.

The subclass emitter applies these to each part of a copied ``__init__`` (the vendor emitter to the parts it
inlines from ancestors); they never descend into nested function or class definitions, whose ``self`` and
``super()`` mean something else.
"""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from archit_codemod.declaration.editing.edits import KeepingUnchanged
from archit_codemod.declaration.sources.locate import ClassSource


class _InitBodyTransformer(cst.CSTTransformer):
    """Visits the body of one ``__init__`` without descending into nested definitions.

    A plain ``CSTTransformer`` with ``m.matches`` tests: one is built per rewritten instance, and a
    ``MatcherDecoratableTransformer`` costs ~30 ms to construct (it inspects all of its attributes).
    """

    def __init__(self) -> None:
        super().__init__()
        self._depth = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self._depth += 1
        return self._depth == 1

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        self._depth -= 1
        return updated_node

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False


_ZERO_ARGUMENT_SUPER = m.Call(func=m.Name("super"), args=[])


class SuperCallRewriter(_InitBodyTransformer):
    """``super()`` becomes ``super(<Definer>, self)``.

    The copied ``__init__`` runs in a subclass of ``<Definer>``: the zero-argument form would call
    ``<Definer>.__init__`` itself, running the original body before the copy. The explicit form skips it.

        super().__init__(config)  ->  super(RobertaEmbeddings, self).__init__(config)
    """

    def __init__(self, definer_name: str, self_name: str = "self") -> None:
        super().__init__()
        self.definer_name = definer_name
        self.self_name = self_name

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        if not m.matches(updated_node, _ZERO_ARGUMENT_SUPER):
            return updated_node
        return updated_node.with_changes(
            args=[
                cst.Arg(
                    cst.Name(self.definer_name), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                ),
                cst.Arg(cst.Name(self.self_name)),
            ]
        )


def mangled(name: str, class_name: str) -> str:
    """``name`` as Python stores it when written inside ``class <class_name>`` (``__x`` -> ``_Class__x``)."""
    stripped = class_name.lstrip("_")
    if not name.startswith("__") or name.endswith("__") or not stripped:
        return name
    return f"_{stripped}{name}"


class UnmangleNames(_InitBodyTransformer):
    """Write private names (``self.__cache``) as the attribute their original class stores (``self._Block__cache``).

    Inside ``class BlockModified(Block)``, ``self.__cache`` would mean ``self._BlockModified__cache``: a
    different attribute from the one ``Block``'s other methods read.

        self.__cache = {}  ->  self._Block__cache = {}
    """

    def __init__(self, class_name: str) -> None:
        super().__init__()
        self.class_name = class_name

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        name = mangled(updated_node.value, self.class_name)
        return updated_node if name == updated_node.value else updated_node.with_changes(value=name)


def prepare_for_subclass(
    source: ClassSource, function: cst.FunctionDef, class_name: str | None = None
) -> cst.FunctionDef:
    """``function`` (``source``'s ``__init__``) with private names as stored and ``super()`` naming its class.

    ``class_name`` is the name the class has where the copy goes (a vendored file may rename it): ``super()`` names
    it, while private names stay as the original class stores them, in the traced model and its checkpoints.
    """
    rewrite = _ForSubclass(source.definer.__name__, class_name or source.definer.__name__, source.self_name)
    return function.visit(KeepingUnchanged(rewrite))


class _ForSubclass(UnmangleNames, SuperCallRewriter):
    """:class:`UnmangleNames` and :class:`SuperCallRewriter` in one pass: the names ``super(<Definer>, self)`` adds
    are made after the names beneath the call were left, as in two passes."""

    def __init__(self, mangling_class: str, definer_name: str, self_name: str) -> None:
        SuperCallRewriter.__init__(self, definer_name, self_name)
        self.class_name = mangling_class
