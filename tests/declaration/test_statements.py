"""Reading a copied ``__init__``: which statements assign an attribute, reads of it, writes into it."""

from __future__ import annotations

import libcst as cst
import torch
from torch import nn

from archit_codemod.declaration.planning.statements import InitStatements
from archit_codemod.declaration.records import ConstructorCall
from archit_codemod.declaration.script import ScriptSource
from archit_codemod.declaration.sources.inline import InitCopy
from archit_codemod.declaration.sources.locate import locate_class


class Decoder(nn.Module):
    def __init__(self, cross=False):
        super().__init__()
        if cross:
            self.x = nn.Linear(2, 2)
        else:
            self.x: nn.Module = nn.Linear(3, 3)
        self.decoder = nn.Linear(2, 3)
        self.bias = nn.Parameter(torch.zeros(3))
        self.decoder.bias = self.bias
        self.a, self.b = nn.ReLU(), nn.GELU()
        self.c = self.d = nn.Tanh()


def _statements() -> InitStatements:
    return InitStatements(InitCopy((locate_class(Decoder, ScriptSource()),)))


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def test_assignments_in_source_order_and_reads_without_targets():
    statements = _statements()
    assert [_code(s.value) for s in statements.assigning("x")] == ["nn.Linear(2, 2)", "nn.Linear(3, 3)"]
    assert statements.reads("decoder") == 1
    assert statements.reads("bias") == 1
    assert statements.reads("missing") == 0
    assert statements.mutates("decoder") and not statements.mutates("bias")


def test_rewritable_statements_are_those_whose_value_can_be_singled_out():
    statements = _statements()
    assert [_code(s.value) for s in statements.rewritable("b", None)] == ["nn.ReLU(), nn.GELU()"]
    assert statements.rewritable("c", None) == []  # self.c = self.d = ...


def test_the_traced_line_picks_the_branch_that_built_the_module():
    statements = _statements()
    [first, second] = statements.assigning("x")
    line = Decoder.__init__.__code__.co_firstlineno + 5  # the `self.x: nn.Module = nn.Linear(3, 3)` line
    assert statements.rewritable("x", ConstructorCall(nn.Linear, (3, 3), {}, __file__, line)) == [second]
    assert statements.rewritable("x", ConstructorCall(nn.Linear, (2, 2), {}, __file__, line - 2)) == [first]
    assert statements.rewritable("x", None) == [first, second]
