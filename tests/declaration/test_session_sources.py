"""Surgery written in an interactive session whose input Python keeps (notebook cells, a REPL): each cell is a
source of its own, and what the traced models need from them is copied.

A session is simulated as IPython and Python's own REPL (from 3.13) run one: each cell is compiled under a file
name of its own, with its text in ``linecache`` under that name, and run in one ``__main__`` namespace. Real
notebooks in a real kernel are tested in ``tests/notebooks``.
"""

from __future__ import annotations

import builtins
import itertools
import linecache
import textwrap
from collections.abc import Iterator

import pytest
import torch
from output_support import file_of, rebuilt_root

from archit_codemod.declaration.api import generate, verify
from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.sources.session import in_memory_sources, in_memory_text

_NUMBERS = itertools.count()


class Session:
    """An interactive session's ``__main__``, whose cells are kept in ``linecache`` (removed afterwards)."""

    def __init__(self) -> None:
        self.namespace: dict = {"__name__": "__main__", "__builtins__": builtins}
        self.names: list[str] = []

    def cell(self, text: str, *, keep: bool = True) -> str:
        """Run ``text`` as a new cell (kept in ``linecache`` unless ``keep`` is false); the cell's file name."""
        text = textwrap.dedent(text).lstrip("\n")
        name = f"<session-cell-{next(_NUMBERS)}>"
        if keep:
            linecache.cache[name] = (len(text), None, text.splitlines(keepends=True), name)
            self.names.append(name)
        exec(compile(text, name, "exec"), self.namespace)
        return name

    def run_again(self, name: str) -> None:
        """Run a kept cell again, unchanged: a kernel keeps its name (and its place in ``linecache``)."""
        exec(compile(in_memory_text(name), name, "exec"), self.namespace)

    def forget(self) -> None:
        for name in self.names:
            linecache.cache.pop(name, None)


@pytest.fixture
def session() -> Iterator[Session]:
    session = Session()
    yield session
    session.forget()


IMPORTS = """
import torch
import torch.nn.functional as F
from torch import nn

from archit_codemod.declaration.tracing.tracer import trace

RANK = 3
"""

# The base class sits low in its cell, the subclass at the top of a later one: copies follow the cells' order.
BASE = """
# A cell that defines a base class below some other code.
SCALE = 2.0


class Adapter(nn.Module):
    def __init__(self, width: int, rank: int = RANK):
        super().__init__()
        self.down = nn.Linear(width, rank, bias=False)
        self.up = nn.Linear(rank, width, bias=False)
"""

SUBCLASS = """
class GeluAdapter(Adapter):
    def forward(self, x):
        return self.up(F.gelu(self.down(x))) * SCALE


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = nn.Linear(8, 8)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.inner(x))


def add_adapter(net):
    net.inner = GeluAdapter(8)
"""

SURGERY = """
with trace() as traced:
    net = Net()
    add_adapter(net)
"""


def declared(session: Session, mode: str):
    traced = session.namespace["traced"]
    roots = {"model": session.namespace["net"]}
    output = generate(traced, roots, mode=mode)
    verify(output, traced, roots)
    return traced, roots, output


def test_definitions_and_the_names_they_read_are_copied_from_their_cells_in_order(session, mode):
    for cell in (IMPORTS, BASE, SUBCLASS, SURGERY):
        session.cell(cell)
    traced, roots, output = declared(session, mode)
    text = file_of(output, "NetModified").text if mode == "subclass" else output.files[0].text
    if mode == "vendor":
        text = next(file.text for file in output.files if "class GeluAdapter" in file.text)
    # Each import as its cell wrote it; the constants and classes in the order their cells ran (the base class
    # first, though the subclass's line is lower).
    assert "import torch.nn.functional as F\nfrom torch import nn\n" in text
    positions = [
        text.index(part) for part in ("RANK = 3", "SCALE = 2.0", "class Adapter(", "class GeluAdapter(")
    ]
    assert positions == sorted(positions)
    assert "# A cell that defines a base class below some other code." not in text  # only what is needed
    with rebuilt_root(output, traced, roots["model"]) as rebuilt:
        rebuilt.load_state_dict(roots["model"].state_dict(), strict=True)
        x = torch.randn(2, 8)
        assert torch.equal(rebuilt(x), roots["model"](x))


def test_code_of_every_cell_is_the_sessions_own(session):
    for cell in (IMPORTS, BASE, SUBCLASS, SURGERY):
        session.cell(cell)
    [change] = session.namespace["traced"].modifications
    # add_adapter's assignment is the session's own statement (as a script's function is), not a library call
    # to make again after __init__.
    assert change.call is None and change.name == "inner"
    _, _, output = declared(session, "subclass")
    assert "self.inner = GeluAdapter(8)" in output.source and "add_adapter" not in output.source


def test_a_constant_is_copied_as_the_cell_that_ran_last_binds_it(session):
    session.cell(IMPORTS)
    six = session.cell("WIDTH = 6\n")
    session.cell("WIDTH = 5\n")
    session.run_again(six)  # its name, and its place in linecache, are those of its first run
    session.cell(
        """
        class Widened(nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = nn.Linear(8, WIDTH)
                self.back = nn.Linear(WIDTH, 8)

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = nn.Linear(8, 8)
        """
    )
    session.cell("with trace() as traced:\n    net = Net()\n    net.inner = Widened()\n")
    _, _, output = declared(session, "subclass")
    assert "\nWIDTH = 6\n" in output.source and "WIDTH = 5" not in output.source


def test_a_class_without_methods_of_its_own_is_found_by_its_name(session):
    session.cell(IMPORTS)
    session.cell("class QuietReLU(nn.ReLU):\n    pass\n")
    session.cell(BASE)
    session.cell(SUBCLASS)
    session.cell("with trace() as traced:\n    net = Net()\n    net.act = QuietReLU()\n")
    _, _, output = declared(session, "subclass")
    assert "class QuietReLU(nn.ReLU):\n    pass\n" in output.source


def test_a_class_whose_source_python_did_not_keep_is_refused_with_the_reason_and_the_fix(session):
    session.cell(IMPORTS)
    session.cell(BASE)
    session.cell(SUBCLASS)
    session.cell("class Gone(nn.Module):\n    def __init__(self):\n        super().__init__()\n", keep=False)
    session.cell("with trace() as traced:\n    net = Net()\n    net.inner = Gone()\n")
    with pytest.raises(DeclarationError) as refusal:
        declared(session, "subclass")
    message = str(refusal.value)
    assert message.startswith("inner (in Net): Gone was defined in an interactive session")
    assert (
        "its code was compiled from <session-cell-" in message and "whose text Python did not keep" in message
    )
    assert "Fix: define it with a `class` or `def` statement in a notebook cell" in message


def test_only_sources_kept_in_memory_are_a_sessions(session, tmp_path):
    cell = session.cell("VALUE = 1\n")
    on_disk = tmp_path / "module.py"
    on_disk.write_text("VALUE = 1\n")
    linecache.getlines(str(on_disk))  # cached with its file's mtime
    lazy = "<lazily-loaded>"
    linecache.cache[lazy] = (lambda: "VALUE = 1\n",)
    try:
        assert in_memory_text(cell) == "VALUE = 1\n"
        assert in_memory_text(str(on_disk)) is None and in_memory_text(lazy) is None
        assert cell in in_memory_sources() and str(on_disk) not in in_memory_sources()
    finally:
        linecache.cache.pop(lazy)
