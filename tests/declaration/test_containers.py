"""Before/after expression pairs for rewriting a container's construction item by item."""

from __future__ import annotations

import libcst as cst
import pytest

from archit_codemod.declaration.editing.containers import rewrite_container


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


class TestRewriteContainer:
    @staticmethod
    def rewrite(source: str, keys: list[str], per_key: dict[str, str]) -> str | None:
        def item_expression(key, original):
            return cst.parse_expression(per_key[key]) if key in per_key else original

        sequential = source.startswith("nn.Sequential(")
        result = rewrite_container(
            cst.parse_expression(source), keys, item_expression, items_as_arguments=sequential
        )
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

    def test_a_tuple_loop_target_is_kept_whole_inside_enumerate(self):
        source = "nn.ModuleList([Block(width, depth) for width, depth in shapes])"
        assert self.rewrite(source, ["0", "1"], {"1": "Wide(width, depth)"}) == (
            "nn.ModuleList([Wide(width, depth) if index == 1 else Block(width, depth) "
            "for index, (width, depth) in enumerate(shapes)])"
        )

    def test_an_enumerate_loop_counts_the_items_already(self):
        source = "nn.ModuleList([Block(i, width) for i, width in enumerate(widths)])"
        assert self.rewrite(source, ["0", "1"], {"1": "Wide(i, width)"}) == (
            "nn.ModuleList([Wide(i, width) if i == 1 else Block(i, width) for i, width in enumerate(widths)])"
        )

    def test_a_new_index_is_not_one_a_nested_comprehension_uses(self):
        source = "nn.ModuleList([Stack(width) for width in widths])"
        inner = "nn.ModuleList([A() if index == 0 else B() for index in range(2)])"
        assert self.rewrite(source, ["0", "1"], {"1": inner}) == (
            f"nn.ModuleList([{inner} if item_index == 1 else Stack(width) "
            "for item_index, width in enumerate(widths)])"
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
        options.setdefault("items_as_arguments", source.startswith("nn.Sequential("))
        result = rewrite_container(cst.parse_expression(source), keys, item_expression, **options)
        return None if result is None else _code(result)

    def test_a_container_of_one_item_built_from_a_name(self):
        # nn.ModuleList(mlps) holds one list, not the item: it cannot be rewritten item by item (MiniCPM-OCR's merger)
        assert self.change("nn.ModuleList(mlps)", ["0"], {"0": "M()"}) is None
        assert self.change("nn.ModuleDict(blocks)", ["a"], {"a": "M()"}) is None
        # nn.Sequential(block) holds the item itself
        assert self.change("nn.Sequential(block)", ["0"], {"0": "M()"}) == "nn.Sequential(M())"

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
