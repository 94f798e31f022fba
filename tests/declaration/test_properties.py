"""Property-based round trips: random module trees, random modifications, and the codemod's answer.

Hypothesis writes a random network as Python source into a temporary script — user classes nested in
each other, ``ModuleList`` built by comprehensions, ``ModuleDict``, ``Sequential``, buffers, plain
attributes, constructor arguments of several kinds (ints, floats, bools, strings, tuples, ``None``, a
module passed as an argument), a class instantiated at two places — then random modifications of the built
model (replace, wrap, set ``None``, swap one list item, add a new attribute). Every module keeps the
width, so each network has a ``forward`` before and after any modification.

Property: the codemod (tracer, ``generate``, ``verify``) either raises :class:`DeclarationError` with a
message, or its output imports on its own, rebuilds the traced module tree, loads the traced
``state_dict`` strictly and gives exactly the same outputs. It holds in both modes (subclasses, and the
vendored copy of the script's classes), each mode a test of its own.

Run time: the ``ci`` profile (default, registered in ``tests/conftest.py``) runs 60 examples, 30 per mode;
``pytest --hypothesis-profile long`` (or ``HYPOTHESIS_PROFILE=long``) runs 2000.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
from hypothesis import event, given, note, settings
from hypothesis import strategies as st
from output_support import MODES, imported_root
from torch import nn

from archit_codemod.declaration import api
from archit_codemod.declaration.errors import DeclarationError, NothingModifiedError
from archit_codemod.declaration.tracing.roots import find_roots
from archit_codemod.declaration.tracing.tracer import run_script

# --- the script's fixed part -------------------------------------------------------------------------------

PRELUDE = '''\
import torch
from torch import nn


def run(module, x):
    """Apply a child, a container of children in order, or nothing (a child set to None)."""
    if module is None:
        return x
    if isinstance(module, (nn.ModuleList, nn.ModuleDict)):
        for item in module.values() if isinstance(module, nn.ModuleDict) else module:
            x = run(item, x)
        return x
    return module(x)


class Scale(nn.Module):
    """A leaf of the script with arguments of every literal kind and a buffer."""

    def __init__(self, width: int, factor: float = 1.0, name: str = "s", shape: tuple = (1,), flag: bool = True, note=None):
        super().__init__()
        self.factor, self.name, self.shape, self.flag, self.note = factor, name, shape, flag, note
        self.register_buffer("offset", torch.linspace(-1.0, 1.0, width))

    def forward(self, x):
        return x * self.factor + (self.offset if self.flag else 0.0)


class Wrapper(nn.Module):
    """Wraps a module it is given, as LoRA-style adapters do."""

    def __init__(self, inner: nn.Module, alpha: float = 0.5):
        super().__init__()
        self.inner = inner
        self.alpha = alpha

    def forward(self, x):
        return x + self.alpha * self.inner(x)
'''

# --- what hypothesis draws -----------------------------------------------------------------------------------

LEAF_KINDS = ("linear", "linear-nobias", "layernorm", "relu", "gelu", "tanh", "identity", "dropout", "scale")
# Floats of every magnitude between 1e-3 and 4, both signs, and zero: their repr must round-trip.
literal_floats = (
    st.floats(min_value=1e-3, max_value=4) | st.floats(min_value=-4, max_value=-1e-3) | st.just(0.0)
)
literal_texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6)
literal_tuples = st.tuples(st.integers(-3, 9), st.integers(0, 5)) | st.just(())


@st.composite
def leaves(draw) -> str:
    """A width-preserving leaf, as source using the variable ``width``."""
    kind = draw(st.sampled_from(LEAF_KINDS))
    if kind == "linear":
        return "nn.Linear(width, width)"
    if kind == "linear-nobias":
        return "nn.Linear(width, width, bias=False)"
    if kind == "layernorm":
        return f"nn.LayerNorm(width, eps={draw(st.sampled_from([1e-5, 1e-6, 0.001]))!r})"
    if kind == "dropout":
        return f"nn.Dropout(p={draw(st.sampled_from([0.0, 0.1, 0.5]))!r})"
    if kind == "scale":
        arguments = [
            f"factor={draw(literal_floats)!r}",
            f"name={draw(literal_texts)!r}",
            f"shape={draw(literal_tuples)!r}",
            f"flag={draw(st.booleans())!r}",
            f"note={draw(st.none() | st.integers(-5, 5))!r}",
        ]
        chosen = draw(st.lists(st.sampled_from(arguments), unique=True, max_size=len(arguments)))
        return f"Scale({', '.join(['width', *chosen])})"
    return {"relu": "nn.ReLU()", "gelu": "nn.GELU()", "tanh": "nn.Tanh()", "identity": "nn.Identity()"}[kind]


@dataclass
class NodeClass:
    """A user class of the script: its name, the source of its ``__init__`` body, and its child slots."""

    name: str
    takes_extra: bool
    lines: list[str] = field(default_factory=list)
    slots: list[str] = field(default_factory=list)


@dataclass
class Network:
    classes: list[NodeClass] = field(default_factory=list)

    def source(self) -> str:
        parts = [PRELUDE]
        for node in self.classes:
            extra = ", extra=None" if node.takes_extra else ""
            body = "\n".join(f"        {line}" for line in node.lines)
            forward = "\n".join(f"        x = run(self.{slot}, x)" for slot in node.slots)
            parts.append(
                f"\n\nclass {node.name}(nn.Module):\n"
                f"    def __init__(self, width: int, gain: float = 1.0, tag: str = 'n'{extra}):\n"
                f"        super().__init__()\n"
                f"        self.gain, self.tag = gain, tag\n"
                f"        self.register_buffer('bias', torch.full((width,), 0.25))\n"
                f"{body}\n\n"
                f"    def forward(self, x):\n"
                f"{forward}\n"
                f"        return x * self.gain + self.bias\n"
            )
        return "".join(parts)


@st.composite
def constructions(draw, network: Network, node: NodeClass, width: str) -> str:
    """A call of ``node``'s class with random literal arguments (and a module as ``extra``)."""
    arguments = [width]
    if draw(st.booleans()):
        arguments.append(f"gain={draw(literal_floats)!r}")
    if draw(st.booleans()):
        arguments.append(f"tag={draw(literal_texts)!r}")
    if node.takes_extra and draw(st.booleans()):
        arguments.append(f"extra={draw(leaves()).replace('width', width)}")
    return f"{node.name}({', '.join(arguments)})"


@st.composite
def node_classes(draw, network: Network, depth: int) -> NodeClass:
    """Draw a user class (children first, so each class is defined before use) and append it."""
    node = NodeClass(name="", takes_extra=draw(st.booleans()))
    for index in range(draw(st.integers(1, 4))):
        slot = f"c{index}"
        kinds = (
            ["leaf", "list", "dict", "seq"]
            + (["node"] if depth > 0 else [])
            + (["again"] if network.classes else [])
        )
        kind = draw(st.sampled_from(kinds))
        if kind == "leaf":
            line = f"self.{slot} = {draw(leaves())}"
        elif kind == "list":
            line = (
                f"self.{slot} = nn.ModuleList([{draw(leaves())} for _ in range({draw(st.integers(1, 3))})])"
            )
        elif kind == "dict":
            keys = draw(st.lists(st.sampled_from(["p", "q", "r"]), min_size=1, max_size=3, unique=True))
            items = ", ".join(f"{key!r}: {draw(leaves())}" for key in keys)
            line = f"self.{slot} = nn.ModuleDict({{{items}}})"
        elif kind == "seq":
            line = (
                f"self.{slot} = nn.Sequential({', '.join(draw(st.lists(leaves(), min_size=1, max_size=3)))})"
            )
        elif kind == "node":
            child = draw(node_classes(network, depth - 1))
            line = f"self.{slot} = {draw(constructions(network, child, 'width'))}"
        else:  # a class already defined, instantiated once more (two instances, maybe modified differently)
            child = draw(st.sampled_from(network.classes))
            line = f"self.{slot} = {draw(constructions(network, child, 'width'))}"
        node.lines.append(line)
        node.slots.append(slot)
    if node.takes_extra:
        node.lines.append("self.given = extra if extra is not None else nn.Identity()")
        node.slots.append("given")
    # Named when complete: its children, drawn above, took the numbers before it.
    node.name = f"Node{len(network.classes)}"
    network.classes.append(node)
    return node


@dataclass
class Target:
    """A module of the built model: its path, the source that reaches it, what holds it."""

    path: str
    expression: str
    holder: str  # "attribute" of a user class, "list"/"dict"/"sequential" item, or "container" attribute
    module: nn.Module


def targets(model: nn.Module) -> list[Target]:
    found: list[Target] = []

    def visit(module: nn.Module, path: str, expression: str) -> None:
        for name, child in module.named_children():
            child_path = f"{path}.{name}" if path else name
            if isinstance(module, (nn.ModuleList, nn.Sequential)):
                child_expression, holder = (
                    f"{expression}[{name}]",
                    "list" if isinstance(module, nn.ModuleList) else "sequential",
                )
            elif isinstance(module, nn.ModuleDict):
                child_expression, holder = f"{expression}[{name!r}]", "dict"
            else:
                child_expression, holder = f"{expression}.{name}", "attribute"
            found.append(Target(child_path, child_expression, holder, child))
            visit(child, child_path, child_expression)

    visit(model, "", "model")
    return found


@st.composite
def modifications(draw, network: Network, built: nn.Module, width: int) -> list[str]:
    """Statements that modify ``model``, each on a target none of the others contains."""
    chosen: list[str] = []
    taken: list[str] = []
    candidates = targets(built)
    for _ in range(draw(st.integers(1, 4))):
        free = [
            target
            for target in candidates
            if not any(
                target.path == p or target.path.startswith(p + ".") or p.startswith(target.path + ".")
                for p in taken
            )
        ]
        if not free:
            break
        target = draw(st.sampled_from(free))
        is_container = isinstance(target.module, (nn.ModuleList, nn.ModuleDict))
        actions = ["replace", "add"]
        if not is_container:
            actions.append("wrap")
        if target.holder in ("attribute", "list", "dict"):
            actions.append("none")
        action = draw(st.sampled_from(actions))
        if action == "replace":
            if draw(st.booleans()) or not network.classes:
                new = draw(leaves()).replace("width", str(width))
            else:
                new = draw(constructions(network, draw(st.sampled_from(network.classes)), str(width)))
            chosen.append(f"{target.expression} = {new}")
        elif action == "wrap":
            chosen.append(
                f"{target.expression} = Wrapper({target.expression}, alpha={draw(literal_floats)!r})"
            )
        elif action == "none":
            chosen.append(f"{target.expression} = None")
        else:  # a new attribute of a user class: of the target when it is one, else of the root
            user_class = type(target.module).__name__.startswith("Node")
            owner = target.expression if user_class else "model"
            chosen.append(f"{owner}.added{len(chosen)} = {draw(leaves()).replace('width', str(width))}")
        taken.append(target.path)
    return chosen


@st.composite
def scripts(draw) -> tuple[str, int, str]:
    """(the whole script, the width, the root construction expression)."""
    network = Network()
    root_node = draw(node_classes(network, depth=2))
    root_node.name = "Net"
    width = draw(st.sampled_from([3, 4, 6]))
    root = draw(constructions(network, root_node, str(width)))
    source = network.source()
    namespace: dict = {}
    exec(compile(source, "<network>", "exec"), namespace)
    built = eval(root, namespace)
    changes = draw(modifications(network, built, width))
    script = source + f"\n\nmodel = {root}\n" + "".join(f"{line}\n" for line in changes)
    return script, width, root


# --- the property ------------------------------------------------------------------------------------------


def parameter_sharing(model: nn.Module) -> list[list[str]]:
    groups: dict[int, list[str]] = defaultdict(list)
    for name, tensor in model.state_dict(keep_vars=True).items():
        groups[id(tensor)].append(name)
    return sorted(sorted(group) for group in groups.values() if len(group) > 1)


def assert_rebuilds(traced: nn.Module, rebuilt: nn.Module, width: int, declared: dict[str, type]) -> None:
    """``declared`` maps each generated class name to the traced class it declares."""
    traced_modules = list(traced.named_modules(remove_duplicate=False))
    rebuilt_modules = list(rebuilt.named_modules(remove_duplicate=False))
    assert [path for path, _ in rebuilt_modules] == [path for path, _ in traced_modules]
    for (path, traced_module), (_, rebuilt_module) in zip(traced_modules, rebuilt_modules, strict=True):
        # The same class, a copy of the script's class, or a generated class that declares the traced one.
        name = type(rebuilt_module).__name__
        assert name == type(traced_module).__name__ or declared.get(name) is type(traced_module), (
            path,
            type(traced_module),
            type(rebuilt_module),
        )
    assert parameter_sharing(rebuilt) == parameter_sharing(traced)
    rebuilt.load_state_dict(traced.state_dict(), strict=True)
    traced.eval(), rebuilt.eval()
    x = torch.randn(2, width, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x), traced(x), rtol=0, atol=0)


@pytest.mark.parametrize("mode", MODES)
# The modes share the profile's budget of examples: nearly all the time goes to generating code, and two full
# budgets would double the suite's slowest test. Each run draws new scripts, so the runs add up.
@settings(max_examples=max(1, settings.default.max_examples // len(MODES)))
@given(drawn=scripts())
def test_declaration_is_refused_or_exact(mode, drawn):
    script_source, width, root = drawn
    note(script_source)
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "modify.py"
        script.write_text(script_source)
        trace = run_script(script)
        try:
            roots = find_roots(trace, "model")
            generated = api.generate(trace, roots, mode=mode)
        except DeclarationError as refusal:
            assert str(refusal).strip()
            event(f"refused: {str(refusal)[:60]}")
            return
        except NothingModifiedError as nothing:
            # Only when the original construction rebuilds the traced model (an equal module replaced one).
            assert str(nothing).startswith("nothing to declare")
            assert_rebuilds(trace.namespace["model"], eval(root, dict(trace.namespace)), width, {})
            event("nothing to declare, proven")
            return
        for file in generated.files:
            note(f"--- {file.name}\n{file.text}")
        api.verify(generated, trace, roots)  # a VerificationError fails the property: wrong code was made
        with imported_root(generated, "model") as root_class:
            # The root's own arguments (``extra=Scale(3)``) are the user's: build them with the script's
            # classes, which the output need not contain.
            rebuilt = eval(
                root.replace("Net(", "root_class(", 1), {**trace.namespace, "root_class": root_class}
            )
        declared = {name: original for name, (original, _) in generated.classes.items()}
        assert_rebuilds(trace.namespace["model"], rebuilt, width, declared)
        event("declared exactly")


def test_the_generator_covers_every_feature():
    """The strategy can produce each construct the property is meant to exercise (a guard against a
    generator that silently stopped drawing some of them)."""
    seen: set[str] = set()
    markers = {
        "comprehension": " for _ in range(",
        "moduledict": "nn.ModuleDict(",
        "sequential": "nn.Sequential(",
        "nested class": "self.c0 = Node",
        "module argument": "extra=",
        "wrap": "= Wrapper(model",
        "none": " = None\n",
        "add": ".added",
        "string argument": "tag=",
        "tuple argument": "shape=(",
    }

    @settings(max_examples=200, deadline=None, database=None)
    @given(scripts())
    def collect(drawn):
        script_source = drawn[0]
        modifying = script_source.split("\nmodel = ", 1)[1]
        for feature, marker in markers.items():
            if marker in (modifying if feature in ("wrap", "none", "add") else script_source):
                seen.add(feature)

    collect()
    assert seen == set(markers), set(markers) - seen


if __name__ == "__main__":  # pragma: no cover - print one example script
    pytest.main([__file__, "-q"])
