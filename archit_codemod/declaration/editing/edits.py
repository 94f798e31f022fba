"""Apply a plan's edits to source: one small LibCST transformer per kind of edit.

Each transformer recognises the nodes it edits by identity (the edits hold nodes of the original parsed
source), so it works the same on a copy of an ``__init__`` and on a whole vendored file, and every node it does
not edit stays as written, comments and blank lines included.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import libcst as cst
import libcst.matchers as m

from archit_codemod.declaration.planning.plan import Edit, RemoveAssignment, ReplaceValue, SwapCallee


class ReplaceAssignedValues(cst.CSTTransformer):
    """Give each edited assignment its new value; in a tuple assignment, only the edited target's element.

    self.query = nn.Linear(config.hidden_size, self.all_head_size)
    ->  self.query = LoRALinear(nn.Linear(config.hidden_size, self.all_head_size), r=8)

    self.a, self.b = nn.ReLU(), nn.GELU()  ->  self.a, self.b = nn.ReLU(), nn.SiLU()
    """

    def __init__(self, edits: Sequence[ReplaceValue]) -> None:
        super().__init__()
        self.edits: dict[cst.CSTNode, list[ReplaceValue]] = {}
        for edit in edits:
            self.edits.setdefault(edit.statement, []).append(edit)
        self.applied = 0

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        edits = self.edits.get(original_node)
        if not edits:
            return updated_node
        [target] = [t.target for t in updated_node.targets]
        if not isinstance(target, cst.Tuple | cst.List):
            self.applied += 1
            return updated_node.with_changes(value=edits[-1].value)
        elements = list(updated_node.value.elements)
        for edit in edits:
            matcher = m.Attribute(attr=m.Name(edit.attribute))
            for index, element in enumerate(target.elements):
                if m.matches(element.value, matcher):
                    elements[index] = elements[index].with_changes(value=edit.value)
                    self.applied += 1
        return updated_node.with_changes(value=updated_node.value.with_changes(elements=elements))

    def leave_AnnAssign(self, original_node: cst.AnnAssign, updated_node: cst.AnnAssign) -> cst.AnnAssign:
        edits = self.edits.get(original_node)
        if not edits:
            return updated_node
        self.applied += 1
        return updated_node.with_changes(value=edits[-1].value)


class SwapCallees(cst.CSTTransformer):
    """Make each edited callee name the generated class; the call's arguments stay as written.

    RobertaLayer(config, layer_idx=i)  ->  RobertaLayerModified(config, layer_idx=i)

    attention_class = BertCrossAttention if is_cross_attention else BertSelfAttention
    ->  attention_class = BertCrossAttention if is_cross_attention else BertSelfAttentionModified

    BERT_SELF_ATTENTION_CLASSES[config._attn_implementation](config)  ->  BertSdpaSelfAttentionModified(config)
    """

    def __init__(self, edits: Sequence[SwapCallee]) -> None:
        super().__init__()
        self.names = {edit.callee: edit.name for edit in edits}
        self.applied = 0

    def _swap(
        self, original_node: cst.BaseExpression, updated_node: cst.BaseExpression
    ) -> cst.BaseExpression:
        name = self.names.get(original_node)
        if name is None:
            return updated_node
        self.applied += 1
        return cst.Name(name, lpar=updated_node.lpar, rpar=updated_node.rpar)

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        return self._swap(original_node, updated_node)

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        return self._swap(original_node, updated_node)

    def leave_Subscript(
        self, original_node: cst.Subscript, updated_node: cst.Subscript
    ) -> cst.BaseExpression:
        # A class picked from a mapping (BERT_SELF_ATTENTION_CLASSES[config._attn_implementation]).
        return self._swap(original_node, updated_node)


class RemoveAssignments(cst.CSTTransformer):
    """Remove each edited assignment statement; a block left empty gets a ``pass``.

    self.pooler = BertPooler(config) if add_pooling_layer else None  ->  (removed)
    """

    def __init__(self, edits: Sequence[RemoveAssignment]) -> None:
        super().__init__()
        self.statements = {edit.statement for edit in edits}
        self.applied = 0

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.RemovalSentinel:
        if any(small in self.statements for small in original_node.body):
            self.applied += 1
            return cst.RemoveFromParent()
        return updated_node

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        if not updated_node.body:
            return updated_node.with_changes(body=[cst.SimpleStatementLine([cst.Pass()])])
        return updated_node


class InsertBeforePostInit(cst.CSTTransformer):
    """Add statements at the end of a function, before a trailing ``self.post_init()`` if there is one.

    ``post_init`` initialises the weights and ties them: modules added after it would miss both.

        self.layer = ...                self.layer = ...
        self.post_init()          ->    self.adapter = Adapter(config)
                                        self.post_init()
    """

    def __init__(self, statements: Sequence[cst.BaseStatement], self_name: str = "self") -> None:
        super().__init__()
        self.statements = list(statements)
        self.post_init = m.SimpleStatementLine(
            body=[m.Expr(m.Call(func=m.Attribute(value=m.Name(self_name), attr=m.Name("post_init"))))]
        )
        self._depth = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self._depth += 1
        return self._depth == 1

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        self._depth -= 1
        if self._depth != 0 or not self.statements:
            return updated_node
        body = list(updated_node.body.body)
        at = len(body) - 1 if body and m.matches(body[-1], self.post_init) else len(body)
        if len(body) == 1 and m.matches(body[0], m.SimpleStatementLine(body=[m.Pass()])):
            body, at = [], 0
        body[at:at] = self.statements
        return updated_node.with_changes(body=updated_node.body.with_changes(body=body))


class Together(cst.CSTTransformer):
    """Run transformers that recognise nodes by identity in one pass.

    A LibCST pass rebuilds every node it visits, so a second pass would no longer find the original nodes:
    each node is left by every transformer in turn, each seeing the original node and the node as the
    transformers before it left it. A node that no transformer changed, at or beneath it, is left as the original
    node itself, so that later stages can tell what changed by identity (and skip the rest of a file).
    """

    def __init__(self, transformers: Sequence[cst.CSTTransformer]) -> None:
        super().__init__()
        self.transformers = list(transformers)
        self._changed_beneath: list[bool] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        for transformer in self.transformers:
            transformer.on_visit(node)
        self._changed_beneath.append(False)
        return True

    def on_leave(
        self, original_node: cst.CSTNodeT, updated_node: cst.CSTNodeT
    ) -> cst.CSTNodeT | cst.RemovalSentinel | cst.FlattenSentinel[cst.CSTNodeT]:
        changed_beneath = self._changed_beneath.pop()
        result: cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel = updated_node
        for transformer in self.transformers:
            if not isinstance(result, cst.CSTNode):
                break
            result = transformer.on_leave(original_node, result)
        if result is updated_node and not changed_beneath:
            result = original_node
        if result is not original_node and self._changed_beneath:
            self._changed_beneath[-1] = True
        return result


class KeepingUnchanged(Together):
    """:class:`Together` for one transformer, which decides where to descend (``visit_FunctionDef`` returning
    ``False`` skips a nested definition). Later stages recognise the statements no pass changed by identity, without
    comparing their code (:class:`~archit_codemod.declaration.editing.layout.LayoutRewritten`).
    """

    def __init__(self, transformer: cst.CSTTransformer) -> None:
        super().__init__([transformer])

    def on_visit(self, node: cst.CSTNode) -> bool:
        self._changed_beneath.append(False)
        return self.transformers[0].on_visit(node)


IN_PLACE: dict[type, Callable[[Sequence[Any]], cst.CSTTransformer]] = {
    SwapCallee: SwapCallees,
    ReplaceValue: ReplaceAssignedValues,
    RemoveAssignment: RemoveAssignments,
}
"""The transformer that makes each kind of edit placed ``"in place"``, given all the edits of that kind."""


def apply_in_place(
    node: cst.CSTNodeT, edits: Sequence[Edit], also: Sequence[cst.CSTTransformer] = ()
) -> cst.CSTNodeT:
    """``node`` (a node of the original source) with the edits placed ``"in place"`` made, in one pass together
    with ``also`` (transformers that, too, recognise original nodes by identity).

    Appended statements are not placed here: they go to the end of the whole ``__init__`` once its inlined
    parts are merged (:func:`append_statements`).
    """
    by_kind: dict[type, list[Edit]] = {}
    for edit in edits:
        if edit.placement == "in place":
            by_kind.setdefault(type(edit), []).append(edit)
    transformers = [*also, *(IN_PLACE[kind](of_kind) for kind, of_kind in by_kind.items())]
    if not transformers:
        return node
    return node.visit(Together(transformers))


def append_statements(function: cst.FunctionDef, edits: Sequence[Edit], self_name: str) -> cst.FunctionDef:
    """``function`` with the appended statements of ``edits``: before ``self.post_init()``, then after it."""
    statements = [edit.statement for edit in edits if edit.placement == "before post_init"]
    if statements:
        function = function.visit(KeepingUnchanged(InsertBeforePostInit(statements, self_name)))
    finishing = [edit.statement for edit in edits if edit.placement == "after __init__"]
    if finishing:
        body = [*function.body.body, *finishing]
        function = function.with_changes(body=function.body.with_changes(body=body))
    return function
