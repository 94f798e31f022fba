"""Finding a class's ``__init__`` in its source, also when a decorator wraps it."""

from __future__ import annotations

import importlib
import inspect

import libcst as cst
import pytest
import torch
from libcst.metadata import MetadataWrapper, PositionProvider
from output_support import output_text

from archit_codemod.declaration.api import generate, verify
from archit_codemod.declaration.checking.verify import build_root, load_output
from archit_codemod.declaration.provenance import Provenance
from archit_codemod.declaration.sources.locate import parse_source
from archit_codemod.declaration.tracing.roots import find_roots
from archit_codemod.declaration.tracing.tracer import run_script

DECORATED_BLOCK = """
import functools

from torch import nn


def logged(init):
    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.built_with = len(args)

    return wrapper


class Block(nn.Module):
    # The decorator's wrapper is defined above, at another line: locate must find this def.
    @logged
    def __init__(self, width):
        super().__init__()
        self.fc = nn.Linear(width, width)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.fc(x))
"""

MODIFY = """
model = Block(8)
model.act = nn.GELU()
"""


def _declare_and_rebuild(script, provenance=None, mode="subclass"):
    traced = run_script(script)
    roots = find_roots(traced)
    generated = generate(traced, roots, mode=mode, provenance=provenance)
    verify(generated, traced, roots)
    with load_output(generated) as package:
        module, class_name = generated.roots["model"]
        built = build_root(package.module(module), class_name, roots["model"], traced)
    built.load_state_dict(roots["model"].state_dict(), strict=True)
    x = torch.randn(2, 8)
    assert torch.equal(built(x), roots["model"](x))
    return output_text(generated), built


def test_a_decorated_init_of_a_script_class_is_found(scripts, mode):
    script = scripts("decorated.py", DECORATED_BLOCK + MODIFY)
    source, built = _declare_and_rebuild(script, mode=mode)
    if mode == "subclass":
        assert "class BlockModified(Block):" in source
    # The copy keeps the decorator, so the generated __init__ is wrapped the same way.
    assert "    @logged\n    def __init__(self, width):\n" in source
    assert "        self.act = nn.GELU()\n" in source
    assert built.built_with == 1


def test_a_decorated_init_of_an_importable_class_is_found(scripts):
    scripts("decorated_blocks.py", DECORATED_BLOCK)
    script = scripts("modify.py", "from torch import nn\nfrom decorated_blocks import Block\n" + MODIFY)
    # Written beside the script, the output can import decorated_blocks (else it would copy Block).
    source, _ = _declare_and_rebuild(script, Provenance.for_output(script, script.parent))
    assert "from decorated_blocks import Block" in source
    assert "class BlockModified(Block):" in source and "        self.act = nn.GELU()\n" in source


def test_a_decorator_without_functools_wraps_is_followed_through_its_closure(scripts, mode):
    # Without functools.wraps, the wrapper keeps the original only as a cell of its closure: still found.
    hidden = DECORATED_BLOCK.replace("    @functools.wraps(init)\n", "")
    script = scripts("hidden.py", hidden + MODIFY)
    source, built = _declare_and_rebuild(script, mode=mode)
    assert "    @logged\n    def __init__(self, width):\n" in source
    assert "        self.act = nn.GELU()\n" in source
    assert built.built_with == 1


POSITIONS_SOURCE = '''\
"""A module with a header comment, blocks and CRLF-free lines."""
# a comment before the imports

import torch


if torch.cuda.is_available():

    class OnGpu:
        def __init__(self):
            self.x = (
                1
            )
else:
    class OnGpu:  # the CPU one
        def __init__(self):
            pass


@staticmethod
def helper(a,
           b):
    return a + b
'''


@pytest.mark.parametrize(
    "text",
    [
        POSITIONS_SOURCE,
        "# only a comment\n\n\nclass A:\n    pass\n",
        POSITIONS_SOURCE.replace("\n", "\r\n"),
        inspect.getsource(importlib.import_module("transformers.models.llama.modeling_llama")),
    ],
    ids=["blocks", "header", "crlf", "modeling_llama"],
)
def test_positions_per_statement_are_those_of_the_whole_module(tmp_path, text):
    path = tmp_path / "module.py"
    path.write_bytes(text.encode())
    parsed = parse_source(path, "module")
    whole = MetadataWrapper(parsed.module, unsafe_skip_copy=True).resolve(PositionProvider)
    body = parsed.module.body
    for statement in [*body[len(body) // 2 :], *body[: len(body) // 2]]:  # in any order, each on its own
        positions = parsed.positions_in(statement)
        assert set(positions) == _nodes_in(statement)
        for node, position in positions.items():
            assert position == whole[node], (type(node).__name__, position, whole[node])


def _nodes_in(statement):
    class Nodes(cst.CSTVisitor):
        def __init__(self):
            super().__init__()
            self.found = set()

        def on_visit(self, node):
            self.found.add(node)
            return True

    nodes = Nodes()
    statement.visit(nodes)
    return nodes.found


def test_positions_are_asked_of_a_top_level_statement(tmp_path):
    path = tmp_path / "module.py"
    path.write_text("class A:\n    def f(self):\n        pass\n")
    parsed = parse_source(path, "module")
    method = parsed.module.body[0].body.body[0]
    with pytest.raises(ValueError, match="not a top-level statement"):
        parsed.positions_in(method)


GLOBAL_NAMES = """
import os as operating_system
from typing import Any

try:
    import numpy
except ImportError:
    numpy = None

CONSTANT: Any = 1


def helper(x=CONSTANT):
    inner = operating_system.sep  # a local binding, not a global one
    return inner


class Model:
    attribute = helper

    def method(self):
        local_name = 2
        return local_name
"""

WITH_GLOBAL_STATEMENT = """
cache = None


def fill():
    global filled
    filled = True
"""


def _global_bindings(scope) -> dict[str, list[str]]:
    return {
        name: sorted(type(a).__name__ for a in scope[name] if a.scope is scope)
        for name in {a.name for a in scope.assignments}
    }


@pytest.mark.parametrize("text", [GLOBAL_NAMES, WITH_GLOBAL_STATEMENT], ids=["outline", "global-statement"])
def test_the_global_scope_binds_the_names_the_whole_module_binds(tmp_path, text):
    path = tmp_path / "module_under_test.py"
    path.write_text(text)
    parsed = parse_source(path, "module_under_test")

    outline = parsed.global_scope
    whole = parsed.scopes[parsed.module]

    assert _global_bindings(outline) == _global_bindings(whole)
    assert "inner" not in _global_bindings(outline) and "local_name" not in _global_bindings(outline)
    if "global filled" in text:
        assert outline is whole  # a function that binds a global: the whole module is resolved
    else:
        assert outline is not whole  # resolved without the function bodies


@pytest.mark.parametrize("module_name", ["roberta", "llama", "t5", "longformer"])
def test_the_global_scope_of_a_modeling_file_binds_as_the_whole_module(module_name):
    module = importlib.import_module(f"transformers.models.{module_name}.modeling_{module_name}")
    path = inspect.getsourcefile(module)
    parsed = parse_source(path, module.__name__, module.__package__)
    outline = parsed.global_scope

    assert _global_bindings(outline) == _global_bindings(parsed.scopes[parsed.module])
