"""Before/after source pairs for each LibCST rewrite of a copied ``__init__`` (as LibCST's CodemodTest)."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from archit_codemod.declaration.rewrite import (
    AssignmentStatements,
    InsertBeforePostInit,
    RemoveAttributeAssignment,
    ReplaceAttributeValue,
    ReplaceLocalValue,
    SuperCallRewriter,
    SwapCallee,
    UnmangleNames,
    count_reads,
    mangled,
    rewrite_container,
    written,
)


def _function(source: str) -> cst.FunctionDef:
    statement = cst.parse_module(textwrap.dedent(source)).body[0]
    assert isinstance(statement, cst.FunctionDef)
    return statement


def _code(node: cst.CSTNode) -> str:
    return (
        cst.Module(body=[node]).code
        if isinstance(node, cst.BaseStatement)
        else cst.Module([]).code_for_node(node)
    )


def assert_rewrites(transformer: cst.CSTTransformer, before: str, after: str) -> None:
    assert _code(_function(before).visit(transformer)) == textwrap.dedent(after)


def _value(code: str):
    """``make_value`` that ignores the original and returns ``code``."""
    return lambda original: cst.parse_expression(code)


class TestSuperCallRewriter:
    def test_zero_argument_super_names_the_definer(self):
        assert_rewrites(
            SuperCallRewriter("RobertaEmbeddings"),
            """\
            def __init__(self, config):
                super().__init__()  # keep me
                self.x = 1
            """,
            """\
            def __init__(self, config):
                super(RobertaEmbeddings, self).__init__()  # keep me
                self.x = 1
            """,
        )

    def test_explicit_super_and_nested_functions_are_left_alone(self):
        source = """\
            def __init__(self, config):
                super(Base, self).__init__(config)

                def helper():
                    return super().forward()
            """
        assert_rewrites(SuperCallRewriter("Definer"), source, source)

    def test_other_methods_through_super_also_skip_the_definer(self):
        assert_rewrites(
            SuperCallRewriter("Layer", self_name="me"),
            """\
            def __init__(me):
                super().__init__()
                super().reset()
            """,
            """\
            def __init__(me):
                super(Layer, me).__init__()
                super(Layer, me).reset()
            """,
        )


class TestReplaceAttributeValue:
    def test_rewrites_only_the_assigned_value_keeping_comments(self):
        transformer = ReplaceAttributeValue(
            "query", lambda old: cst.parse_expression(f"LoRA({_code(old)}, r=8)")
        )
        assert_rewrites(
            transformer,
            """\
            def __init__(self, config):
                # the query projection
                self.query = nn.Linear(config.hidden_size, self.all_head_size)  # trailing
                self.key = nn.Linear(config.hidden_size, self.all_head_size)
            """,
            """\
            def __init__(self, config):
                # the query projection
                self.query = LoRA(nn.Linear(config.hidden_size, self.all_head_size), r=8)  # trailing
                self.key = nn.Linear(config.hidden_size, self.all_head_size)
            """,
        )
        assert transformer.rewritten == 1

    def test_every_branch_by_default_and_one_branch_with_only(self):
        before = """\
            def __init__(self, config):
                if config.cross:
                    self.c_attn = Conv1D(2 * d, d)
                else:
                    self.c_attn = Conv1D(3 * d, d)
            """
        assert_rewrites(
            ReplaceAttributeValue("c_attn", _value("nn.Linear(d, 3 * d)")),
            before,
            """\
            def __init__(self, config):
                if config.cross:
                    self.c_attn = nn.Linear(d, 3 * d)
                else:
                    self.c_attn = nn.Linear(d, 3 * d)
            """,
        )
        only_second = ReplaceAttributeValue("c_attn", _value("nn.Linear(d, 3 * d)"), only={1})
        assert_rewrites(
            only_second,
            before,
            """\
            def __init__(self, config):
                if config.cross:
                    self.c_attn = Conv1D(2 * d, d)
                else:
                    self.c_attn = nn.Linear(d, 3 * d)
            """,
        )
        assert only_second.rewritten == 1

    def test_annotated_and_tuple_assignments(self):
        assert_rewrites(
            ReplaceAttributeValue("b", _value("None")),
            """\
            def __init__(self):
                self.a, self.b = A(), B()
                self.b: nn.Module = B()
            """,
            """\
            def __init__(self):
                self.a, self.b = A(), None
                self.b: nn.Module = None
            """,
        )

    def test_values_that_cannot_be_singled_out_are_counted_not_rewritten(self):
        transformer = ReplaceAttributeValue("b", _value("None"))
        source = """\
            def __init__(self):
                self.a, self.b = pair()
                self.c = self.b = B()
            """
        assert_rewrites(transformer, source, source)
        assert (transformer.rewritten, transformer.unsupported) == (0, 2)

    def test_assignments_in_nested_functions_are_not_touched(self):
        source = """\
            def __init__(self):
                def build(self):
                    self.x = X()
            """
        transformer = ReplaceAttributeValue("x", _value("None"))
        assert_rewrites(transformer, source, source)
        assert transformer.rewritten == 0


class TestRemoveAttributeAssignment:
    def test_removes_the_statement_and_fills_an_emptied_block(self):
        transformer = RemoveAttributeAssignment("pooler")
        assert_rewrites(
            transformer,
            """\
            def __init__(self, config, add_pooling_layer=True):
                self.encoder = Encoder(config)
                if add_pooling_layer:
                    self.pooler = Pooler(config)
                self.post_init()
            """,
            """\
            def __init__(self, config, add_pooling_layer=True):
                self.encoder = Encoder(config)
                if add_pooling_layer:
                    pass
                self.post_init()
            """,
        )
        assert transformer.removed == 1


class TestInsertBeforePostInit:
    NEW = [cst.parse_statement("self.extra = nn.Identity()\n")]

    def test_goes_before_a_trailing_post_init(self):
        assert_rewrites(
            InsertBeforePostInit(self.NEW),
            """\
            def __init__(self, config):
                self.a = A()

                # Initialize weights and apply final processing
                self.post_init()
            """,
            """\
            def __init__(self, config):
                self.a = A()
                self.extra = nn.Identity()

                # Initialize weights and apply final processing
                self.post_init()
            """,
        )

    def test_goes_at_the_end_otherwise(self):
        assert_rewrites(
            InsertBeforePostInit(self.NEW),
            """\
            def __init__(self):
                self.a = A()
            """,
            """\
            def __init__(self):
                self.a = A()
                self.extra = nn.Identity()
            """,
        )


def test_swap_callee_replaces_only_matching_calls():
    transformer = SwapCallee(
        lambda callee: _code(callee) == "RobertaPooler", cst.Name("RobertaPoolerModified")
    )
    expression = cst.parse_expression("RobertaPooler(config) if add_pooling_layer else Other(RobertaPooler)")
    assert _code(expression.visit(transformer)) == (
        "RobertaPoolerModified(config) if add_pooling_layer else Other(RobertaPooler)"
    )
    assert transformer.swapped == 1


def test_count_reads_ignores_assignment_targets():
    function = _function(
        """\
        def __init__(self):
            self.decoder = nn.Linear(2, 3)
            self.bias = nn.Parameter(torch.zeros(3))
            self.decoder.bias = self.bias
        """
    )
    assert count_reads(function, "decoder") == 1
    assert count_reads(function, "bias") == 1
    assert count_reads(function, "missing") == 0


def test_assignment_statements_are_numbered_like_replace_attribute_value():
    function = _function(
        """\
        def __init__(self):
            if a:
                self.x = A()
            else:
                self.x: M = B()
            self.y = self.x
        """
    )
    collector = AssignmentStatements("x")
    function.visit(collector)
    assert [_code(node.value) for node in collector.found] == ["A()", "B()"]


class TestRewriteContainer:
    @staticmethod
    def rewrite(source: str, keys: list[str], per_key: dict[str, str]) -> str | None:
        def item_expression(key, original):
            return cst.parse_expression(per_key[key]) if key in per_key else original

        result = rewrite_container(cst.parse_expression(source), keys, item_expression)
        return None if result is None else _code(result)

    def test_same_change_everywhere_keeps_the_comprehension(self):
        source = "nn.ModuleList([RobertaLayer(config, layer_idx=i) for i in range(config.num_hidden_layers)])"
        new = "RobertaLayerModified(config, layer_idx=i)"
        assert self.rewrite(source, ["0", "1"], {"0": new, "1": new}) == (
            "nn.ModuleList([RobertaLayerModified(config, layer_idx=i) for i in range(config.num_hidden_layers)])"
        )

    def test_some_items_changed_picks_per_index(self):
        source = "nn.ModuleList([RobertaLayer(config, layer_idx=i) for i in range(config.num_hidden_layers)])"
        result = self.rewrite(source, ["0", "1", "2", "3"], {"1": "Scaled(config, layer_idx=i)", "3": "B(i)"})
        assert result == (
            "nn.ModuleList([Scaled(config, layer_idx=i) if i == 1 else B(i) if i == 3 else "
            "RobertaLayer(config, layer_idx=i) for i in range(config.num_hidden_layers)])"
        )

    def test_several_indices_with_one_change_share_a_test(self):
        source = "nn.ModuleList([L(i) for i in range(n)])"
        assert self.rewrite(source, ["0", "1", "2", "3"], {"0": "M(i)", "2": "M(i)"}) == (
            "nn.ModuleList([M(i) if i in (0, 2) else L(i) for i in range(n)])"
        )

    def test_the_most_common_expression_is_the_else_branch(self):
        source = "nn.ModuleList([L(i) for i in range(n)])"
        assert self.rewrite(source, ["0", "1", "2"], {"0": "M(i)", "2": "M(i)"}) == (
            "nn.ModuleList([L(i) if i == 1 else M(i) for i in range(n)])"
        )

    def test_other_iterables_go_through_enumerate(self):
        source = "nn.ModuleList([Block(width) for width in widths])"
        assert self.rewrite(source, ["0", "1"], {"1": "Wide(width)"}) == (
            "nn.ModuleList([Wide(width) if index == 1 else Block(width) for index, width in enumerate(widths)])"
        )

    def test_starred_comprehension_with_an_unnamed_index(self):
        source = "nn.Sequential(*[Block(width) for _ in range(depth)])"
        assert self.rewrite(source, ["0", "1", "2"], {"1": "BlockModified(width)"}) == (
            "nn.Sequential(*[BlockModified(width) if index == 1 else Block(width) for index in range(depth)])"
        )

    def test_listed_items(self):
        assert (
            self.rewrite("nn.ModuleList([A(), B()])", ["0", "1"], {"1": "C()"}) == "nn.ModuleList([A(), C()])"
        )
        assert self.rewrite("nn.Sequential(A(), nn.ReLU())", ["0", "1"], {"1": "nn.GELU()"}) == (
            "nn.Sequential(A(), nn.GELU())"
        )
        assert self.rewrite('nn.ModuleDict({"a": A(), "b": B()})', ["a", "b"], {"b": "C()"}) == (
            'nn.ModuleDict({"a": A(), "b": C()})'
        )

    @pytest.mark.parametrize(
        "source",
        [
            "make_layers(config)",
            "nn.ModuleList([L(i) for i in range(n) if i % 2])",
            "nn.ModuleList(layers)",
            "nn.ModuleList([A(), B(), C()])",  # three listed, two keys: not this container's shape
        ],
    )
    def test_unrecognised_shapes_are_refused(self, source):
        assert self.rewrite(source, ["0", "1"], {"1": "X()"}) is None


class TestRewriteContainerItemsAddedOrDeleted:
    rewrite = staticmethod(TestRewriteContainer.rewrite)

    @staticmethod
    def change(source: str, keys: list[str], per_key: dict[str, str], **options) -> str | None:
        def item_expression(key, original):
            return cst.parse_expression(per_key[key]) if key in per_key else original

        for name in ("appended",):
            if name in options:
                options[name] = [cst.parse_expression(code) for code in options[name]]
        result = rewrite_container(cst.parse_expression(source), keys, item_expression, **options)
        return None if result is None else _code(result)

    def test_items_appended_after_a_comprehension_and_a_list(self):
        assert (
            self.change(
                "nn.ModuleList([L(config, i) for i in range(config.n)])",
                ["0", "1"],
                {},
                appended=["Extra(config)"],
            )
            == "nn.ModuleList([L(config, i) for i in range(config.n)] + [Extra(config)])"
        )
        assert self.change(
            "nn.ModuleList([A(), B()])", ["0", "1"], {"0": "C()"}, appended=["D()", "E()"]
        ) == ("nn.ModuleList([C(), B(), D(), E()])")
        assert self.change("nn.Sequential(*[L() for _ in range(n)])", ["0"], {}, appended=["nn.ReLU()"]) == (
            "nn.Sequential(*[L() for _ in range(n)], nn.ReLU())"
        )

    def test_last_items_deleted_are_sliced_off_or_left_out(self):
        assert self.change("nn.ModuleList([L(i) for i in range(n)])", ["0", "1"], {}, dropped=1) == (
            "nn.ModuleList([L(i) for i in range(n)][:-1])"
        )
        assert (
            self.change("nn.Sequential(A(), B(), C())", ["0"], {"0": "D()"}, dropped=2)
            == "nn.Sequential(D())"
        )
        # a multi-line list keeps its trailing comma on its new last item
        assert self.change("nn.ModuleList([\n    A(),\n    B(),\n])", ["0"], {}, dropped=1) == (
            "nn.ModuleList([\n    A(),\n])"
        )
        # a generator cannot be sliced
        assert self.change("nn.ModuleList(L() for _ in range(n))", ["0"], {}, dropped=1) is None

    def test_module_dict_items_replaced_added_and_deleted_by_key(self):
        assert (
            self.change(
                'nn.ModuleDict({"a": A(), "b": B()})',
                ["a"],
                {"a": "C()"},
                removed_keys=["b"],
                appended=["D()"],
                appended_keys=["d"],
            )
            == 'nn.ModuleDict({"a": C(), "d": D()})'
        )

    def test_module_dict_comprehension_picks_per_key(self):
        assert self.change("nn.ModuleDict({k: L(k) for k in names})", ["x", "y", "z"], {"y": "M(k)"}) == (
            'nn.ModuleDict({k: M(k) if k == "y" else L(k) for k in names})'
        )
        # keys computed from the loop variable are not followed
        assert self.change("nn.ModuleDict({f'l{i}': L() for i in r})", ["l0"], {"l0": "M()"}) is None


def test_private_names_are_written_as_their_class_stores_them():
    assert_rewrites(
        UnmangleNames("_Block"),
        """\
        def __init__(self, __size):
            self.__cache = {}
            self.__proj = nn.Linear(__size, __size)
            self.__dunder__ = 1
        """,
        """\
        def __init__(self, _Block__size):
            self._Block__cache = {}
            self._Block__proj = nn.Linear(_Block__size, _Block__size)
            self.__dunder__ = 1
        """,
    )
    assert mangled("__proj", "_Block") == "_Block__proj" and written("_Block__proj", "_Block") == "__proj"
    assert mangled("proj", "Block") == "proj" and written("_Other__proj", "Block") == "_Other__proj"


def test_replace_local_value_rewrites_the_definition_of_a_local():
    transformer = ReplaceLocalValue(
        "attention_class", lambda old: cst.parse_expression("B if c else AModified")
    )
    assert_rewrites(
        transformer,
        """\
        def __init__(self, c):
            attention_class = B if c else A  # chosen once
            self.self = attention_class(config)
        """,
        """\
        def __init__(self, c):
            attention_class = B if c else AModified  # chosen once
            self.self = attention_class(config)
        """,
    )
    assert transformer.rewritten == 1
