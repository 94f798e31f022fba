"""Planning on hand-built traces: which classes are generated, how instances are grouped, each change kind.

Every case runs in both modes (the ``mode`` fixture): the same plan, emitted as subclasses or as edited copies
of this file, must rebuild the traced model.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from output_support import class_code, imported_root, init_code
from torch import nn

from archit_codemod.declaration.api import Output, generate, verify
from archit_codemod.declaration.errors import DeclarationError, VerificationError
from archit_codemod.declaration.records import ConstructorCall, Modification, Trace


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


def assert_rebuilds(net: nn.Module, trace: Trace, mode: str) -> Output:
    """Generate, verify on meta, then build with real weights, load the traced weights strictly, compare."""
    generated = generate(trace, {"net": net}, mode=mode)
    verify(generated, trace, {"net": net})
    with imported_root(generated, "net") as root_class:
        built = root_class(width=8, depth=3)
    built.load_state_dict(net.state_dict(), strict=True)
    x = torch.randn(4, 8)
    assert torch.equal(built.eval()(x), net.eval()(x))
    return generated


def test_the_same_change_everywhere_is_one_class_and_keeps_the_comprehension(net_and_trace, mode):
    net, trace = net_and_trace
    for block in net.blocks:
        modify(trace, block, "act", record(trace, nn.GELU()))
    generated = assert_rebuilds(net, trace, mode)
    assert {name: original for name, (original, _) in generated.classes.items()} == {
        "BlockModified": Block,
        "NetModified": Net,
    }
    assert "self.blocks = nn.ModuleList([BlockModified(width) for _ in range(depth)])" in init_code(
        generated, "NetModified"
    )
    assert "        # the activation\n        self.act = nn.GELU()\n" in init_code(generated, "BlockModified")
    if mode == "subclass":
        assert generated.source.count("class BlockModified(Block):") == 1


def test_different_changes_get_numbered_classes_picked_per_index(net_and_trace, mode):
    net, trace = net_and_trace
    modify(trace, net.blocks[0], "act", record(trace, nn.GELU()))
    modify(trace, net.blocks[2], "act", record(trace, nn.Tanh()))
    generated = assert_rebuilds(net, trace, mode)
    assert sorted(generated.classes) == ["BlockModified", "BlockModified2", "NetModified"]
    assert "self.act = nn.GELU()" in init_code(generated, "BlockModified")
    assert "self.act = nn.Tanh()" in init_code(generated, "BlockModified2")
    assert (
        "        self.blocks = nn.ModuleList(\n"
        "            [\n"
        "                BlockModified(width) if index == 0 else BlockModified2(width) if index == 2 else Block(width)\n"
        "                for index in range(depth)\n"
        "            ]\n"
        "        )\n"
    ) in init_code(generated, "NetModified")


def test_a_replaced_item_renders_its_constructor_with_the_original_arguments(net_and_trace, mode):
    net, trace = net_and_trace
    modify(trace, net.blocks, "1", record(trace, Scaled(net.blocks[1], scale=0.5), net.blocks[1], scale=0.5))
    generated = assert_rebuilds(net, trace, mode)
    # the wrapped item is the original element expression, inside the per-index pick
    assert "Scaled(Block(width), scale=0.5) if index == 1 else Block(width)" in init_code(
        generated, "NetModified"
    )
    assert list(generated.classes) == ["NetModified"]


def test_none_delete_and_add(net_and_trace, mode):
    net, trace = net_and_trace
    modify(trace, net, "head", record(trace, nn.Linear(8, 3), 8, 3))
    modify(trace, net, "norm", None, kind="delete")
    modify(trace, net, "probe", record(trace, nn.Identity()), kind="add")
    generated = assert_rebuilds(net, trace, mode)
    init = init_code(generated, "NetModified")
    # 8 was the width the original head was built with: it renders as the same source
    assert "self.head = nn.Linear(width, 3)" in init
    assert "self.norm" not in init
    assert "self.probe = nn.Identity()" in init
    assert any("probe" in w and "forward does not use it" in w for w in generated.warnings)


def test_gate_set_in_a_helper_is_assigned_after_the_body_with_a_warning(net_and_trace, mode):
    net, trace = net_and_trace
    modify(trace, net, "gate", None)
    generated = assert_rebuilds(net, trace, mode)
    if (
        mode == "subclass"
    ):  # only a statement after the original body: the original __init__ is called, not copied
        ending = "super().__init__(width, depth)\n        self.gate = None"
    else:  # the vendored class is the original, edited: the statement follows its body
        ending = "self._add_gate(width)\n        self.gate = None"
    assert init_code(generated, "NetModified").rstrip().endswith(ending)
    assert any("gate" in w and "after the original body" in w for w in generated.warnings)


def test_a_deleted_attribute_that_init_reads_is_deleted_at_the_end(mode):
    trace = Trace()
    head = record(trace, TiedHead(8), 8)
    modify(trace, head, "decoder", None, kind="delete")
    modify(trace, head, "extra", None, kind="delete")
    generated = generate(trace, {"head": head}, mode=mode)
    verify(generated, trace, {"head": head})
    init = init_code(generated, "TiedHeadModified")
    # extra is never read: its statement goes; decoder is read by the next statement: deleted at the end
    assert "self.extra" not in init
    assert "self.decoder.bias = self.bias\n        del self.decoder\n" in init
    assert any("deletes it at the end" in w for w in generated.warnings)
    with imported_root(generated, "head") as root_class:
        built = root_class(8)
    assert not hasattr(built, "decoder") and not hasattr(built, "extra")
    built.load_state_dict(head.state_dict(), strict=True)


class TiedHead(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.decoder = nn.Linear(width, 4)
        self.bias = nn.Parameter(torch.zeros(4))
        self.decoder.bias = self.bias
        self.extra = nn.Linear(width, width)


def test_unrenderable_arguments_name_path_class_and_argument(net_and_trace, mode):
    net, trace = net_and_trace
    modify(
        trace,
        net.blocks[1],
        "fc",
        record(
            trace, Scaled(nn.Identity(), scale=torch.arange(100.0)), nn.Identity(), scale=torch.arange(100.0)
        ),
    )
    with pytest.raises(DeclarationError) as error:
        generate(trace, {"net": net}, mode=mode)
    message = str(error.value)
    assert "blocks.1.fc" in message and "Block" in message and "'scale'" in message and "Tensor" in message


def test_nothing_below_a_root_changed_is_reported(net_and_trace, mode):
    from archit_codemod.declaration.errors import NothingModifiedError

    net, trace = net_and_trace
    with pytest.raises(NothingModifiedError):
        generate(trace, {"net": net}, mode=mode)


def test_verification_reports_the_first_differing_paths(net_and_trace, mode):
    net, trace = net_and_trace
    modify(trace, net, "head", record(trace, nn.Linear(8, 3), 8, 3))
    generated = generate(trace, {"net": net}, mode=mode)
    [file] = generated.files
    init = init_code(generated, "NetModified")
    wrong = init.replace("self.head = nn.Linear(width, 3)", "self.head = nn.Linear(width, 4)")
    assert wrong != init and file.text.count(init) == 1
    edited = dataclasses.replace(file, text=file.text.replace(init, wrong))
    generated = dataclasses.replace(generated, files=(edited,))
    with pytest.raises(VerificationError, match=r"head\.weight: parameter shape \(4, 8\), traced \(3, 8\)"):
        verify(generated, trace, {"net": net})


def test_a_wrapper_takes_no_sizes_from_the_module_it_wraps(net_and_trace, mode):
    net, trace = net_and_trace
    # 8 is also the width the wrapped head was built with: for a wrapper that is a coincidence.
    modify(trace, net, "head", record(trace, Scaled(net.head, scale=8), net.head, scale=8))
    modify(trace, net, "gate", record(trace, nn.Linear(8, 8), 8, 8))
    init = init_code(assert_rebuilds(net, trace, mode), "NetModified")
    assert "self.head = Scaled(nn.Linear(width, 2), scale=8)" in init
    # a replacement that is not a wrapper does take them (the gate is assigned after the body, though:
    # it is set in a helper, so its original arguments are unknown)
    assert "self.gate = nn.Linear(8, 8)" in init


# --- a child built by an ancestor's __init__, a local alias, private names ----------------------------------


class BaseAttention(nn.Module):
    def __init__(self, width, heads=2):
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(width, width)
        self.key = nn.Linear(width, width)

    def forward(self, x):
        return self.query(x) + self.key(x)


class FastAttention(BaseAttention):
    """Like transformers 4.57's BertSdpaSelfAttention: passes its arguments on, adds an attribute."""

    def __init__(self, width, heads=2):
        super().__init__(width, heads=heads)
        self.fast = True

    def forward(self, x):
        return 2 * super().forward(x)


class RenamedAttention(BaseAttention):
    def __init__(self, size):
        super().__init__(size)


class Holder(nn.Module):
    def __init__(self, width=8, fast=True, renamed=False):
        super().__init__()
        attention_class = FastAttention if fast else BaseAttention
        self.attention = RenamedAttention(width) if renamed else attention_class(width)
        self.__scale = nn.Identity()

    def forward(self, x):
        return self.__scale(self.attention(x))


def traced_generation(build, change, mode: str) -> Output:
    """Build and change a model under the real tracer; generate, verify, rebuild with its weights, compare."""
    from archit_codemod.declaration.tracing.tracer import trace

    with trace() as recorded:
        model = build()
        change(model)
    generated = generate(recorded, {"model": model}, mode=mode)
    verify(generated, recorded, {"model": model})
    call = recorded.call_of(model)
    with imported_root(generated, "model") as root_class:
        built = root_class(*call.args, **call.kwargs)
    built.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(3, 8)
    assert torch.equal(built.eval()(x), model.eval()(x))
    return generated


def test_a_child_built_by_an_ancestors_init_is_rewritten_where_it_is_built(mode):
    def wrap_query(holder):
        holder.attention.query = Scaled(holder.attention.query, scale=0.5)

    generated = traced_generation(Holder, wrap_query, mode)
    # FastAttention's __init__ with BaseAttention's body in place of its super().__init__(...) call: the source
    # expression `nn.Linear(width, width)` is kept, not the sizes of this run.
    if mode == "subclass":
        assert (
            "class FastAttentionModified(FastAttention):\n"
            '    """FastAttention with query: Scaled. Generated by archit_codemod."""\n'
            "\n"
            "    def __init__(self, width, heads=2):\n"
        ) in generated.source
    assert init_code(generated, "FastAttentionModified") == (
        "    def __init__(self, width, heads=2):\n"
        "        # Inlined from BaseAttention.__init__, which FastAttention.__init__ calls with the same arguments.\n"
        "        super(BaseAttention, self).__init__()\n"
        "        self.heads = heads\n"
        "        self.query = Scaled(nn.Linear(width, width), scale=0.5)\n"
        "        self.key = nn.Linear(width, width)\n"
        "        self.fast = True\n"
    )
    # the local alias is rewritten where it is defined, the branch the traced construction took only
    holder = init_code(generated, "HolderModified")
    assert "        attention_class = FastAttentionModified if fast else BaseAttention\n" in holder
    assert (
        "        self.attention = RenamedAttention(width) if renamed else attention_class(width)\n" in holder
    )
    assert not generated.warnings


def test_an_ancestor_init_that_cannot_be_inlined_falls_back_with_a_warning(mode):
    def wrap_query(holder):
        holder.attention.query = Scaled(holder.attention.query, scale=0.5)

    generated = traced_generation(lambda: Holder(renamed=True), wrap_query, mode)
    # RenamedAttention passes `size` as `width`: BaseAttention's body would read a name it does not have
    assert "self.query = Scaled(nn.Linear(8, 8), scale=0.5)" in init_code(
        generated, "RenamedAttentionModified"
    )
    assert any("cannot inline" in w and "size" in w for w in generated.warnings), generated.warnings
    assert any("argument values of the traced run" in w for w in generated.warnings)


def test_private_attributes_keep_the_name_their_class_stores(mode):
    def replace_scale(holder):
        holder._Holder__scale = nn.Tanh()

    generated = traced_generation(Holder, replace_scale, mode)
    code = class_code(generated, "HolderModified")
    assert "        self._Holder__scale = nn.Tanh()\n" in init_code(generated, "HolderModified")
    # In vendor mode the renamed class's other methods read the attribute by the name its original stores.
    assert "self.__scale" not in code


# --- containers ----------------------------------------------------------------------------------------------


class Router(nn.Module):
    def __init__(self, width=8):
        super().__init__()
        self.experts = nn.ModuleDict({"a": nn.Linear(width, width), "b": nn.Linear(width, width)})
        self.by_name = nn.ModuleDict({name: nn.Linear(width, width) for name in ("x", "y", "z")})
        self.stack = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width))
        self.layers = nn.ModuleList([nn.Linear(width, width) for _ in range(3)])

    def forward(self, x):
        for expert in [*self.experts.values(), *self.by_name.values(), *self.layers]:
            x = expert(x)
        return self.stack(x)


def test_items_appended_to_a_comprehension_and_deleted_from_a_literal(mode):
    def change(router):
        router.layers.append(nn.Linear(8, 8, bias=False))
        router.layers.append(nn.Tanh())
        del router.stack[2]

    source = init_code(traced_generation(Router, change, mode), "RouterModified")
    # an added item has no original expression to borrow its sizes from: they are the traced values
    assert (
        "        self.layers = nn.ModuleList(\n"
        "            [nn.Linear(width, width) for _ in range(3)] + [nn.Linear(8, 8, bias=False), nn.Tanh()]\n"
        "        )\n"
    ) in source
    assert "self.stack = nn.Sequential(nn.Linear(width, width), nn.ReLU())\n" in source


def test_last_items_deleted_from_a_comprehension_are_sliced_off(mode):
    def change(router):
        del router.layers[-1]
        router.layers[0] = nn.Linear(8, 8, bias=False)

    source = init_code(traced_generation(Router, change, mode), "RouterModified")
    assert (
        "self.layers = nn.ModuleList(\n"
        "            [nn.Linear(width, width, bias=False) if index == 0 else nn.Linear(width, width) "
        "for index in range(3)][:-1]\n"
        "        )"
    ) in source


def test_sequential_and_module_dict_items_replaced_added_and_deleted(mode):
    def change(router):
        router.stack[1] = nn.GELU()
        router.experts["b"] = nn.Linear(8, 8, bias=False)
        router.experts["c"] = nn.Identity()
        del router.experts["a"]
        router.by_name["y"] = nn.Identity()

    source = init_code(traced_generation(Router, change, mode), "RouterModified")
    assert "self.stack = nn.Sequential(nn.Linear(width, width), nn.GELU(), nn.Linear(width, width))" in source
    assert (
        'self.experts = nn.ModuleDict({"b": nn.Linear(width, width, bias=False), "c": nn.Identity()})'
        in source
    )
    assert (
        "        self.by_name = nn.ModuleDict(\n"
        '            {name: nn.Identity() if name == "y" else nn.Linear(width, width) for name in ("x", "y", "z")}\n'
        "        )\n"
    ) in source


def test_items_deleted_from_the_middle_inserted_or_changed_after_building_rebuild_the_container_from_its_items(
    mode,
):
    def change(router):
        del router.layers[0]
        router.layers.insert(1, nn.Identity())
        router.stack[1] = nn.Sequential(nn.ReLU())
        router.stack[1].append(nn.Tanh())

    source = init_code(traced_generation(Router, change, mode), "RouterModified")
    assert "self.layers = nn.ModuleList([nn.Linear(8, 8), nn.Identity(), nn.Linear(8, 8)])" in source
    assert "nn.Sequential(nn.ReLU(), nn.Tanh())" in source


def test_a_container_built_from_an_iterator_is_rebuilt_from_its_items(mode):
    def change(router):
        # The recorded argument is an iterator, used up by the time the codemod renders it.
        router.layers = nn.ModuleList(reversed([nn.Linear(4, 8), nn.Linear(8, 4)]))

    source = init_code(traced_generation(Router, change, mode), "RouterModified")
    assert "self.layers = nn.ModuleList([nn.Linear(8, 4), nn.Linear(4, 8)])" in source


def test_a_container_item_set_to_none_is_refused_naming_the_path(mode):
    from archit_codemod.declaration.tracing.tracer import trace

    with trace() as recorded:
        router = Router()
        router.layers[1] = None
    with pytest.raises(DeclarationError, match=r"layers\.1: an item of a ModuleList was set to None"):
        generate(recorded, {"model": router}, mode=mode)


# --- shared modules and changes made while a forward runs ------------------------------------------------------


def test_a_module_placed_at_two_paths_is_refused_naming_both(net_and_trace, mode):
    net, trace = net_and_trace
    modify(trace, net, "head", net.gate)
    with pytest.raises(DeclarationError, match=r"head and gate are the same Linear object") as error:
        generate(trace, {"net": net}, mode=mode)
    assert "separate weights" in str(error.value)


def test_one_new_module_given_to_every_layer_is_refused(net_and_trace, mode):
    net, trace = net_and_trace
    shared = record(trace, nn.GELU())
    for block in net.blocks:
        modify(trace, block, "act", shared)
    with pytest.raises(DeclarationError, match=r"blocks\.0\.act and blocks\.1\.act are the same GELU object"):
        generate(trace, {"net": net}, mode=mode)


def test_a_change_made_by_a_forward_hook_is_declared_like_any_other(mode):
    from archit_codemod.declaration.tracing.tracer import trace

    def swap_activation(module, inputs, output):
        module.blocks[0].act = nn.Tanh()

    with trace() as recorded:
        net = Net()
        handle = net.register_forward_hook(swap_activation)
        net(torch.randn(2, 8))
        handle.remove()
    assert [(m.name, m.kind) for m in recorded.modifications] == [("act", "set")]
    generated = generate(recorded, {"net": net}, mode=mode)
    verify(generated, recorded, {"net": net})
    assert "self.act = nn.Tanh()" in init_code(generated, "BlockModified")
    with imported_root(generated, "net") as root_class:
        built = root_class()
    built.load_state_dict(net.state_dict(), strict=True)
    x = torch.randn(4, 8)
    assert torch.equal(built.eval()(x), net.eval()(x))
