"""Before/after pairs for the layout of rewritten statements, and agreement with ``ruff format`` on them."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import libcst as cst
import pytest

from archit_codemod.declaration.editing.layout import (
    LINE_LENGTH,
    LayoutRewritten,
    layout_statement,
    original_statements,
)


def laid_out(code: str, indent: int = 8) -> str:
    statement = cst.parse_statement(textwrap.dedent(code))
    assert isinstance(statement, cst.SimpleStatementLine)
    return cst.Module(body=[layout_statement(statement, indent)]).code


CASES = {
    "a wrapped multi-line call is joined when it fits": (
        """\
        self.q_proj = LoRALinear(nn.Linear(
            config.hidden_size, config.num_attention_heads * self.head_dim, bias=config.attention_bias
        ), r=16, alpha=32)
        """,
        """\
        self.q_proj = LoRALinear(
            nn.Linear(config.hidden_size, config.num_attention_heads * self.head_dim, bias=config.attention_bias),
            r=16,
            alpha=32,
        )
        """,
    ),
    "a long comprehension puts each clause on its own line": (
        "self.layer = nn.ModuleList([ScaledRobertaLayer(config, layer_idx=i, init_scale=0.5) if i == 1 else "
        "RobertaLayer(config, layer_idx=i) for i in range(config.num_hidden_layers)])\n",
        """\
        self.layer = nn.ModuleList(
            [
                (
                    ScaledRobertaLayer(config, layer_idx=i, init_scale=0.5)
                    if i == 1
                    else RobertaLayer(config, layer_idx=i)
                )
                for i in range(config.num_hidden_layers)
            ]
        )
        """,
    ),
    "a long super call keeps its arguments on one indented line": (
        "super(BertSdpaSelfAttention, self).__init__(config, position_embedding_type=position_embedding_type, "
        "layer_idx=layer_idx)\n",
        """\
        super(BertSdpaSelfAttention, self).__init__(
            config, position_embedding_type=position_embedding_type, layer_idx=layer_idx
        )
        """,
    ),
    "a magic trailing comma keeps one argument per line": (
        """\
        self.self = BertSdpaSelfAttentionModified(
            config,
            layer_idx=layer_idx,
        )
        """,
        """\
        self.self = BertSdpaSelfAttentionModified(
            config,
            layer_idx=layer_idx,
        )
        """,
    ),
    "a long list goes one item per line": (
        '_no_split_modules = ["RobertaEmbeddings", "RobertaSelfAttention", "RobertaSdpaSelfAttention", '
        '"RobertaEmbeddingsModified"]\n',
        """\
        _no_split_modules = [
            "RobertaEmbeddings",
            "RobertaSelfAttention",
            "RobertaSdpaSelfAttention",
            "RobertaEmbeddingsModified",
        ]
        """,
    ),
    "a comprehension element that fits keeps its conditional unparenthesised": (
        "self.blocks = nn.ModuleList([BlockModified(width) if index == 0 else BlockModified2(width) if index == 2 "
        "else Block(width) for index in range(depth)])\n",
        """\
        self.blocks = nn.ModuleList(
            [
                BlockModified(width) if index == 0 else BlockModified2(width) if index == 2 else Block(width)
                for index in range(depth)
            ]
        )
        """,
    ),
    "a short statement stays on one line": (
        "self.act = nn.GELU( )\n",
        "self.act = nn.GELU()\n",
    ),
    "a sliced comprehension": (
        "self.layers = nn.ModuleList([LlamaDecoderLayerModified(config, layer_idx) for layer_idx in "
        "range(config.num_hidden_layers)][:-1])\n",
        """\
        self.layers = nn.ModuleList(
            [LlamaDecoderLayerModified(config, layer_idx) for layer_idx in range(config.num_hidden_layers)][:-1]
        )
        """,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rewritten_statements_are_laid_out_like_ruff(case):
    before, after = CASES[case]
    expected = textwrap.indent(textwrap.dedent(after), " " * 8)
    assert textwrap.indent(laid_out(before), " " * 8) == expected


@pytest.mark.parametrize("case", sorted(CASES))
def test_ruff_format_leaves_the_layout_as_it_is(case, tmp_path):
    _, after = CASES[case]
    body = textwrap.indent(textwrap.dedent(after), " " * 8)
    source = f"class C:\n    def __init__(self):\n{body}"
    path = tmp_path / "snippet.py"
    path.write_text(source)
    subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--isolated", "--line-length", str(LINE_LENGTH), str(path)],
        check=True,
        capture_output=True,
    )
    assert path.read_text() == source


def test_statements_with_comments_inside_are_left_as_written():
    code = (
        "self.layers = nn.Sequential(\n    nn.Linear(dim, hidden_dim),\n    nn.GELU(),  # any activation\n)\n"
    )
    assert laid_out(code) == code


def test_only_rewritten_statements_are_laid_out():
    function = cst.parse_module(
        textwrap.dedent(
            """\
            def __init__(self, config):
                self.kept = nn.Linear(
                    config.a, config.b
                )
                if config.flag:
                    self.changed = New(
                        config.a, config.b
                    )
            """
        )
    ).body[0]
    originals = original_statements([function.body.body[0]])
    result = cst.Module(body=[function.visit(LayoutRewritten(originals, indent=0))]).code
    assert result == textwrap.dedent(
        """\
        def __init__(self, config):
            self.kept = nn.Linear(
                config.a, config.b
            )
            if config.flag:
                self.changed = New(config.a, config.b)
        """
    )
