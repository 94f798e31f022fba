"""The globals a generated class reads, worked out once per shape of class: classes that differ only in numbers and in
the generated classes they name read the same names, and any other difference is looked at again."""

from __future__ import annotations

import libcst as cst

from archit_codemod.declaration.rendering.names import GeneratedClassReads


def _class(source: str) -> cst.ClassDef:
    statement = cst.parse_statement(source)
    assert isinstance(statement, cst.ClassDef)
    return statement


LAYER = """\
class LayerModified{n}(Layer):
    def __init__(self, config):
        super(Layer, self).__init__()
        self.attention = AttentionModified{n}(config, rank={n}, scale={n}.5e-{n})
        self.mlp = {callee}(config.hidden_size, {n})
"""


def test_classes_that_differ_in_numbers_and_generated_names_read_the_same_globals():
    generated = {f"LayerModified{n}" for n in (1, 2)} | {f"AttentionModified{n}" for n in (1, 2)}
    reads = GeneratedClassReads(generated)

    first = reads(_class(LAYER.format(n=1, callee="nn.Linear")))
    second = reads(_class(LAYER.format(n=2, callee="nn.Linear")))

    assert first == second == {"Layer", "nn"}  # super is a builtin, config a parameter


def test_a_class_that_reads_another_global_is_not_taken_for_one_seen_before():
    reads = GeneratedClassReads({"LayerModified1", "AttentionModified1"})

    assert "nn" in reads(_class(LAYER.format(n=1, callee="nn.Linear")))
    assert reads(_class(LAYER.format(n=1, callee="Conv1D"))) == {"Layer", "Conv1D"}


def test_a_name_that_ends_in_digits_is_a_name_not_a_number():
    reads = GeneratedClassReads(set())

    one = reads(_class("class A(Base):\n    x = layer1\n"))
    two = reads(_class("class A(Base):\n    x = layer2\n"))

    assert one == {"Base", "layer1"} and two == {"Base", "layer2"}
