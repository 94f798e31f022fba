"""Before/after source pairs for each kind of plan edit, applied as the emitters apply them.

Edits name nodes of the original parsed source, so each test parses the "before" source, picks the nodes the edit
is about, and checks the code the appliers give back.
"""

from __future__ import annotations

import textwrap

import libcst as cst
import libcst.matchers as m

from archit_codemod.declaration.editing.edits import (
    InsertBeforePostInit,
    RemoveAssignments,
    ReplaceAssignedValues,
    SwapCallees,
    Together,
    append_statements,
    apply_in_place,
)
from archit_codemod.declaration.planning.plan import (
    AppendStatement,
    RemoveAssignment,
    ReplaceValue,
    SwapCallee,
)


def _function(source: str) -> cst.FunctionDef:
    statement = cst.parse_module(textwrap.dedent(source)).body[0]
    assert isinstance(statement, cst.FunctionDef)
    return statement


def _code(node: cst.CSTNode) -> str:
    return cst.Module(body=[node]).code


def _assignments(function: cst.FunctionDef, attribute: str) -> list:
    """The assignments of ``self.<attribute>`` in source order (tuple targets included)."""
    target = m.Attribute(value=m.Name("self"), attr=m.Name(attribute))
    found = [
        a for a in m.findall(function, m.Assign()) if any(m.findall(t.target, target) for t in a.targets)
    ]
    return found + list(m.findall(function, m.AnnAssign(target=target)))


def _callee(function: cst.FunctionDef, name: str) -> cst.Name:
    [found] = [call.func for call in m.findall(function, m.Call(func=m.Name(name)))]
    return found


def test_replace_value_changes_only_the_value_keeping_comments():
    function = _function(
        """\
        def __init__(self, config):
            # the query projection
            self.query = nn.Linear(config.hidden_size, self.all_head_size)  # trailing
            self.key = nn.Linear(config.hidden_size, self.all_head_size)
        """
    )
    [statement] = _assignments(function, "query")
    value = cst.parse_expression("LoRA(nn.Linear(config.hidden_size, self.all_head_size), r=8)")
    applier = ReplaceAssignedValues([ReplaceValue(statement, "query", value)])
    assert _code(function.visit(applier)) == textwrap.dedent(
        """\
        def __init__(self, config):
            # the query projection
            self.query = LoRA(nn.Linear(config.hidden_size, self.all_head_size), r=8)  # trailing
            self.key = nn.Linear(config.hidden_size, self.all_head_size)
        """
    )
    assert applier.applied == 1


def test_replace_value_edits_one_branch_and_leaves_the_other_as_written():
    function = _function(
        """\
        def __init__(self, config):
            if config.cross:
                self.c_attn = Conv1D(2 * d, d)
            else:
                self.c_attn = Conv1D(3 * d, d)
        """
    )
    second = _assignments(function, "c_attn")[1]
    edit = ReplaceValue(second, "c_attn", cst.parse_expression("nn.Linear(d, 3 * d)"))
    assert _code(apply_in_place(function, [edit])) == textwrap.dedent(
        """\
        def __init__(self, config):
            if config.cross:
                self.c_attn = Conv1D(2 * d, d)
            else:
                self.c_attn = nn.Linear(d, 3 * d)
        """
    )


def test_replace_value_in_annotated_and_tuple_assignments():
    function = _function(
        """\
        def __init__(self):
            self.a, self.b = A(), B()
            self.b: nn.Module = B()
        """
    )
    edits = [ReplaceValue(s, "b", cst.Name("None")) for s in _assignments(function, "b")]
    assert _code(apply_in_place(function, edits)) == textwrap.dedent(
        """\
        def __init__(self):
            self.a, self.b = A(), None
            self.b: nn.Module = None
        """
    )


def test_swap_callee_renames_the_class_and_keeps_the_arguments():
    function = _function(
        """\
        def __init__(self, config):
            attention_class = BertCrossAttention if config.cross else BertSelfAttention
            self.self = attention_class(config)
            self.output = BertSelfOutput(config)  # as written
        """
    )
    edits = [
        SwapCallee(m.findall(function, m.Name("BertSelfAttention"))[0], "BertSelfAttentionModified"),
        SwapCallee(_callee(function, "BertSelfOutput"), "BertSelfOutputModified"),
    ]
    applier = SwapCallees(edits)
    assert _code(function.visit(applier)) == textwrap.dedent(
        """\
        def __init__(self, config):
            attention_class = BertCrossAttention if config.cross else BertSelfAttentionModified
            self.self = attention_class(config)
            self.output = BertSelfOutputModified(config)  # as written
        """
    )
    assert applier.applied == 2


def test_swap_callee_replaces_a_class_picked_from_a_mapping():
    function = _function(
        """\
        def __init__(self, config):
            self.self = ATTENTION_CLASSES[config._attn_implementation](config, layer_idx=0)
        """
    )
    [callee] = m.findall(function, m.Subscript())
    applier = SwapCallees([SwapCallee(callee, "BertSdpaSelfAttentionModified")])
    assert _code(function.visit(applier)) == textwrap.dedent(
        """\
        def __init__(self, config):
            self.self = BertSdpaSelfAttentionModified(config, layer_idx=0)
        """
    )
    assert applier.applied == 1


def test_remove_assignment_fills_an_emptied_block():
    function = _function(
        """\
        def __init__(self, config, add_pooling_layer=True):
            self.encoder = Encoder(config)
            if add_pooling_layer:
                self.pooler = Pooler(config)
            self.post_init()
        """
    )
    [statement] = _assignments(function, "pooler")
    applier = RemoveAssignments([RemoveAssignment(statement)])
    assert _code(function.visit(applier)) == textwrap.dedent(
        """\
        def __init__(self, config, add_pooling_layer=True):
            self.encoder = Encoder(config)
            if add_pooling_layer:
                pass
            self.post_init()
        """
    )
    assert applier.applied == 1


class TestInsertBeforePostInit:
    NEW = [cst.parse_statement("self.extra = nn.Identity()\n")]

    def test_goes_before_a_trailing_post_init(self):
        function = _function(
            """\
            def __init__(self, config):
                self.a = A()

                # Initialize weights and apply final processing
                self.post_init()
            """
        )
        assert _code(function.visit(InsertBeforePostInit(self.NEW))) == textwrap.dedent(
            """\
            def __init__(self, config):
                self.a = A()
                self.extra = nn.Identity()

                # Initialize weights and apply final processing
                self.post_init()
            """
        )

    def test_goes_at_the_end_otherwise_and_through_append_statements(self):
        function = _function(
            """\
            def __init__(self):
                self.a = A()
            """
        )
        edits = [AppendStatement(statement) for statement in self.NEW]
        assert _code(append_statements(function, edits, "self")) == textwrap.dedent(
            """\
            def __init__(self):
                self.a = A()
                self.extra = nn.Identity()
            """
        )


def test_edits_of_every_kind_are_made_in_one_pass():
    """A second LibCST pass would see rebuilt nodes: the edits of one part must all be made in one."""
    function = _function(
        """\
        def __init__(self, config):
            self.layer = Layer(config)
            self.pooler = Pooler(config)
            self.head = nn.Linear(4, 2)
        """
    )
    edits = [
        SwapCallee(_callee(function, "Layer"), "LayerModified"),
        RemoveAssignment(_assignments(function, "pooler")[0]),
        ReplaceValue(_assignments(function, "head")[0], "head", cst.parse_expression("nn.Linear(4, 3)")),
    ]
    assert _code(apply_in_place(function, edits)) == textwrap.dedent(
        """\
        def __init__(self, config):
            self.layer = LayerModified(config)
            self.head = nn.Linear(4, 3)
        """
    )


def test_together_gives_each_transformer_the_original_node():
    seen = []

    class Records(cst.CSTTransformer):
        def leave_Name(self, original_node, updated_node):
            seen.append(original_node)
            return updated_node.with_changes(value=updated_node.value.upper())

    function = _function(
        """\
        def f():
            x = y
        """
    )
    names = list(m.findall(function, m.Name()))
    result = function.visit(Together([Records(), Records()]))
    assert _code(result).startswith("def F():")
    assert [id(node) for node in seen] == [id(node) for node in names for _ in range(2)]


def test_keeping_unchanged_leaves_the_statements_it_did_not_change_as_the_original_nodes():
    from archit_codemod.declaration.editing.edits import KeepingUnchanged
    from archit_codemod.declaration.editing.subclass import SuperCallRewriter

    function = _function(
        """\
        def __init__(self, config):
            super().__init__()
            self.dense = nn.Linear(4, 4)

            def inner():
                return super().forward()
        """
    )
    super_call, dense, inner = function.body.body
    rewritten = function.visit(KeepingUnchanged(SuperCallRewriter("Block")))

    assert _code(rewritten) == textwrap.dedent(
        """\
        def __init__(self, config):
            super(Block, self).__init__()
            self.dense = nn.Linear(4, 4)

            def inner():
                return super().forward()
        """
    )
    new_super_call, new_dense, new_inner = rewritten.body.body
    assert new_super_call is not super_call
    assert new_dense is dense and new_inner is inner  # the nested definition was not entered: super() stays
