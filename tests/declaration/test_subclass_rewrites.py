"""Before/after pairs for the rewrites that make a copied ``__init__`` run in a subclass."""

from __future__ import annotations

import textwrap

import libcst as cst

from archit_codemod.declaration.editing.subclass import SuperCallRewriter, UnmangleNames, mangled
from archit_codemod.declaration.planning.statements import written


def _function(source: str) -> cst.FunctionDef:
    statement = cst.parse_module(textwrap.dedent(source)).body[0]
    assert isinstance(statement, cst.FunctionDef)
    return statement


def assert_rewrites(transformer: cst.CSTTransformer, before: str, after: str) -> None:
    assert cst.Module(body=[_function(before).visit(transformer)]).code == textwrap.dedent(after)


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
