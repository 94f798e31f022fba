"""Planning on hand-built traces: which classes are generated, how instances are grouped, each change kind."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from archit_codemod.declaration.api import generate, verify
from archit_codemod.declaration.errors import DeclarationError, VerificationError
from archit_codemod.declaration.records import ConstructorCall, Modification, Trace
from archit_codemod.declaration.verify import load_generated


class Block(nn.Module):
    def __init__(self, width, act="relu"):
        super().__init__()
        self.fc = nn.Linear(width, width)
        # the activation
        self.act = nn.ReLU() if act == "relu" else nn.GELU()

    def forward(self, x):
        return self.act(self.fc(x))


class Net(nn.Module):
    def __init__(self, width=8, depth=3):
        super().__init__()
        self.blocks = nn.ModuleList([Block(width) for _ in range(depth)])
        self.head = nn.Linear(width, 2)
        self.norm = nn.LayerNorm(width)
        self._add_gate(width)

    def _add_gate(self, width):
        self.gate = nn.Linear(width, width)

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        x = self.gate(x) if self.gate is not None else x
        x = self.norm(x) if hasattr(self, "norm") else x
        return self.head(x)


class Scaled(nn.Module):
    def __init__(self, inner: nn.Module, scale: float = 2.0):
        super().__init__()
        self.inner = inner
        self.scale = scale

    def forward(self, x):
        return self.scale * self.inner(x)


def record(trace: Trace, module: nn.Module, *args, **kwargs) -> nn.Module:
    trace.calls[module] = ConstructorCall(type(module), args, kwargs, __file__, 0)
    return module


def modify(trace: Trace, owner: nn.Module, name: str, new: nn.Module | None, kind: str = "set") -> None:
    old = owner._modules.get(name)
    trace.modifications.append(Modification(kind, owner, name, old, new, __file__, 0))
    if kind == "delete":
        delattr(owner, name)
    else:
        setattr(owner, name, new)


@pytest.fixture
def net_and_trace():
    torch.manual_seed(0)
    trace = Trace()
    net = record(trace, Net(width=8, depth=3), width=8, depth=3)
    return net, trace


def assert_rebuilds(net: nn.Module, trace: Trace) -> str:
    """Generate, verify on meta, then build with real weights, load the traced weights strictly, compare."""
    generated = generate(trace, {"net": net})
    verify(generated, trace, {"net": net})
    with load_generated(generated.source) as namespace:
        built = getattr(namespace, generated.root_classes["net"])(width=8, depth=3)
    built.load_state_dict(net.state_dict(), strict=True)
    x = torch.randn(4, 8)
    assert torch.equal(built.eval()(x), net.eval()(x))
    return generated.source


def test_the_same_change_everywhere_is_one_class_and_keeps_the_comprehension(net_and_trace):
    net, trace = net_and_trace
    for block in net.blocks:
        modify(trace, block, "act", record(trace, nn.GELU()))
    source = assert_rebuilds(net, trace)
    assert source.count("class BlockModified(Block):") == 1
    assert "BlockModified2" not in source
    assert "self.blocks = nn.ModuleList([BlockModified(width) for _ in range(depth)])" in source
    assert "        # the activation\n        self.act = nn.GELU()\n" in source


def test_different_changes_get_numbered_classes_picked_per_index(net_and_trace):
    net, trace = net_and_trace
    modify(trace, net.blocks[0], "act", record(trace, nn.GELU()))
    modify(trace, net.blocks[2], "act", record(trace, nn.Tanh()))
    source = assert_rebuilds(net, trace)
    assert "class BlockModified(Block):" in source and "class BlockModified2(Block):" in source
    assert (
        "nn.ModuleList([BlockModified(width) if index == 0 else BlockModified2(width) if index == 2 "
        "else Block(width) for index in range(depth)])"
    ) in source


def test_a_replaced_item_renders_its_constructor_with_the_original_arguments(net_and_trace):
    net, trace = net_and_trace
    modify(trace, net.blocks, "1", record(trace, Scaled(net.blocks[1], scale=0.5), net.blocks[1], scale=0.5))
    source = assert_rebuilds(net, trace)
    # the wrapped item is the original element expression, inside the per-index pick
    assert "Scaled(Block(width), scale=0.5) if index == 1 else Block(width)" in source
    assert "class NetModified(Net):" in source
    assert "BlockModified" not in source


def test_none_delete_and_add(net_and_trace):
    net, trace = net_and_trace
    modify(trace, net, "head", record(trace, nn.Linear(8, 3), 8, 3))
    modify(trace, net, "norm", None, kind="delete")
    modify(trace, net, "probe", record(trace, nn.Identity()), kind="add")
    generated = generate(trace, {"net": net})
    verify(generated, trace, {"net": net})
    # 8 was the width the original head was built with: it renders as the same source
    assert "self.head = nn.Linear(width, 3)" in generated.source
    assert "self.norm" not in generated.source
    assert "self.probe = nn.Identity()" in generated.source
    assert any("probe" in w and "forward does not use it" in w for w in generated.warnings)


def test_gate_set_in_a_helper_is_assigned_after_the_body_with_a_warning(net_and_trace):
    net, trace = net_and_trace
    modify(trace, net, "gate", None)
    generated = generate(trace, {"net": net})
    assert generated.source.rstrip().endswith("self._add_gate(width)\n        self.gate = None")
    assert any("gate" in w and "after the original body" in w for w in generated.warnings)
    assert_rebuilds(net, trace)


def test_a_deleted_attribute_that_init_reads_is_deleted_at_the_end():
    trace = Trace()
    head = record(trace, TiedHead(8), 8)
    modify(trace, head, "decoder", None, kind="delete")
    modify(trace, head, "extra", None, kind="delete")
    generated = generate(trace, {"head": head})
    verify(generated, trace, {"head": head})
    # extra is never read: its statement goes; decoder is read by the next statement: deleted at the end
    assert "self.extra" not in generated.source
    assert "self.decoder.bias = self.bias\n        del self.decoder\n" in generated.source
    assert any("deletes it at the end" in w for w in generated.warnings)


class TiedHead(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.decoder = nn.Linear(width, 4)
        self.bias = nn.Parameter(torch.zeros(4))
        self.decoder.bias = self.bias
        self.extra = nn.Linear(width, width)


def test_unrenderable_arguments_name_path_class_and_argument(net_and_trace):
    net, trace = net_and_trace
    modify(
        trace,
        net.blocks[1],
        "fc",
        record(trace, Scaled(nn.Identity(), scale=torch.ones(1)), nn.Identity(), scale=torch.ones(1)),
    )
    with pytest.raises(DeclarationError) as error:
        generate(trace, {"net": net})
    message = str(error.value)
    assert "blocks.1.fc" in message and "Block" in message and "'scale'" in message and "Tensor" in message


def test_nothing_below_a_root_changed_is_reported(net_and_trace):
    from archit_codemod.declaration.errors import NothingModifiedError

    net, trace = net_and_trace
    with pytest.raises(NothingModifiedError):
        generate(trace, {"net": net})


def test_verification_reports_the_first_differing_paths(net_and_trace):
    net, trace = net_and_trace
    modify(trace, net, "head", record(trace, nn.Linear(8, 3), 8, 3))
    generated = generate(trace, {"net": net})
    generated.source = generated.source.replace("nn.Linear(width, 3)", "nn.Linear(width, 4)")
    with pytest.raises(VerificationError, match=r"head\.weight: parameter shape \(4, 8\), traced \(3, 8\)"):
        verify(generated, trace, {"net": net})


def test_a_wrapper_takes_no_sizes_from_the_module_it_wraps(net_and_trace):
    net, trace = net_and_trace
    # 8 is also the width the wrapped head was built with: for a wrapper that is a coincidence.
    modify(trace, net, "head", record(trace, Scaled(net.head, scale=8), net.head, scale=8))
    modify(trace, net, "gate", record(trace, nn.Linear(8, 8), 8, 8))
    source = assert_rebuilds(net, trace)
    assert "self.head = Scaled(nn.Linear(width, 2), scale=8)" in source
    # a replacement that is not a wrapper does take them (the gate is assigned after the body, though:
    # it is set in a helper, so its original arguments are unknown)
    assert "self.gate = nn.Linear(8, 8)" in source
