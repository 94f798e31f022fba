"""The runtime tracer: what it records (and does not), and that it leaves torch as it found it."""

from __future__ import annotations

import contextlib
import copy
import gc
import inspect
import sys
import weakref
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from torch import nn
from transformers import BertConfig, BertModel

import archit_codemod
from archit_codemod.declaration.errors import ScriptError
from archit_codemod.declaration.tracing import tracer
from archit_codemod.declaration.tracing.tracer import current_trace, run_script, trace


def _line_of(statement: str) -> int:
    """The number of the one line of this file (other than a ``_line_of`` call) containing ``statement``."""
    source = Path(__file__).read_text().splitlines()
    lines = [number for number, text in enumerate(source, 1) if statement in text and "_line_of(" not in text]
    assert len(lines) == 1, f"{statement!r} is on lines {lines}"
    return lines[0]


def _summary(modifications) -> list[tuple]:
    return [(m.kind, m.owner, m.name, m.old, m.new) for m in modifications]


def _tiny_bert_config() -> BertConfig:
    return BertConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37, vocab_size=99
    )


class Block(nn.Module):
    def __init__(self, width: int = 2) -> None:
        super().__init__()
        self.lin = nn.Linear(width, width)


class Net(nn.Module):
    def __init__(self, depth: int = 3) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([Block() for _ in range(depth)])
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(2, 2))
        self.heads = nn.ModuleDict({"a": nn.ReLU()})


class Wrapper(nn.Module):
    def __init__(self, base: nn.Module, r: int = 4) -> None:
        super().__init__()
        self.base = base
        self.r = r


# --- each kind of change ----------------------------------------------------------------------------


def test_attribute_assignment_records_the_change_and_the_new_modules_constructor_call():
    net = Net()
    old = net.blocks[1].lin
    with trace() as t:
        new = nn.Linear(2, 5, bias=False)
        net.blocks[1].lin = new
    built_at, changed_at = _line_of("new = nn.Linear(2, 5, bias=False)"), _line_of("net.blocks[1].lin = new")
    assert _summary(t.modifications) == [("set", net.blocks[1], "lin", old, new)]
    [change] = t.modifications
    assert (change.filename, change.lineno) == (__file__, changed_at)
    assert (change.user_filename, change.user_lineno) == (__file__, changed_at)
    call = t.call_of(new)
    assert (call.cls, call.args, call.kwargs) == (nn.Linear, (2, 5), {"bias": False})
    assert call.bound().arguments == {"in_features": 2, "out_features": 5, "bias": False}
    assert (call.filename, call.lineno, call.parent) == (__file__, built_at, None)
    assert t.call_of(old) is None  # built before the trace


def test_none_assignment_deletion_and_new_attribute():
    net = Net()
    head, old_lin = net.head, net.blocks[0].lin
    with trace() as t:
        net.head = None
        del net.blocks[0].lin
        net.extra = nn.Identity()
        delattr(net, "heads")
    heads_were = t.modifications[3].old
    assert _summary(t.modifications) == [
        ("set", net, "head", head, None),
        ("delete", net.blocks[0], "lin", old_lin, None),
        ("add", net, "extra", None, net.extra),
        ("delete", net, "heads", heads_were, None),
    ]
    assert isinstance(heads_were, nn.ModuleDict) and "heads" not in net._modules


def test_container_items_add_module_and_register_module():
    net = Net()
    b2, relu, sequential = net.blocks[2], net.heads["a"], net.head
    seq_relu = sequential[0]
    with trace() as t:
        net.blocks[-1] = Block(4)  # a negative index is recorded as the item's key
        net.head[0] = nn.GELU()
        net.heads["a"] = nn.Tanh()
        net.heads["b"] = nn.Sigmoid()
        net.add_module("head", nn.Identity())
        net.register_module("tail", nn.Identity())
    assert _summary(t.modifications) == [
        ("set", net.blocks, "2", b2, net.blocks[2]),
        ("set", sequential, "0", seq_relu, sequential[0]),
        ("set", net.heads, "a", relu, net.heads["a"]),
        ("add", net.heads, "b", None, net.heads["b"]),
        ("set", net, "head", sequential, net.head),
        ("add", net, "tail", None, net.tail),
    ]
    assert t.call_of(net.blocks[2]).args == (4,)


def test_module_list_append_extend_and_insert_after_construction_are_additions():
    net = Net()
    b0, b1, b2 = net.blocks
    with trace() as t:
        net.blocks.append(Block())
        net.blocks.extend([Block()])
        net.blocks.insert(1, Block())
    b3, b4, inserted = t.modifications[0].new, t.modifications[1].new, net.blocks[1]
    # insert renumbers the items after the insertion point: recorded key by key, as _modules changed.
    assert _summary(t.modifications) == [
        ("add", net.blocks, "3", None, b3),
        ("add", net.blocks, "4", None, b4),
        ("set", net.blocks, "1", b1, inserted),
        ("set", net.blocks, "2", b2, b1),
        ("set", net.blocks, "3", b3, b2),
        ("set", net.blocks, "4", b4, b3),
        ("add", net.blocks, "5", None, b4),
    ]
    assert list(net.blocks) == [b0, inserted, b1, b2, b3, b4]


def test_container_deletions_are_recorded_key_by_key():
    net = Net()
    b0, b1, b2 = net.blocks
    relu, tanh = nn.ReLU(), nn.Tanh()
    named = nn.Sequential(OrderedDict(first=relu, second=tanh))
    head_a = net.heads["a"]
    with trace() as t:
        del net.blocks[0]  # ModuleList renumbers the items after the deleted one
        del named[0]  # so does Sequential, even with named keys
        del net.heads["a"]
        net.heads.update({"x": nn.ReLU(), "y": nn.ReLU()})
        net.heads.clear()
    x, y = t.modifications[7].new, t.modifications[8].new
    assert _summary(t.modifications) == [
        ("set", net.blocks, "0", b0, b1),
        ("set", net.blocks, "1", b1, b2),
        ("delete", net.blocks, "2", b2, None),
        ("delete", named, "first", relu, None),
        ("delete", named, "second", tanh, None),
        ("add", named, "0", None, tanh),
        ("delete", net.heads, "a", head_a, None),
        ("add", net.heads, "x", None, x),
        ("add", net.heads, "y", None, y),
        ("delete", net.heads, "x", x, None),
        ("delete", net.heads, "y", y, None),
    ]
    assert list(net.blocks) == [b1, b2] and list(named) == [tanh] and len(net.heads) == 0


def test_reassigning_the_same_module_is_no_change():
    net = Net()
    with trace() as t:
        net.head = net.head
        net.blocks[0] = net.blocks[0]
    assert t.modifications == []


def test_a_wrapper_assigned_in_a_loop_is_one_record_per_layer():
    net = Net()
    originals = [block.lin for block in net.blocks]
    with trace() as t:
        for block in net.blocks:
            block.lin = Wrapper(block.lin, r=8)
    assert [(m.owner, m.old) for m in t.modifications] == list(zip(net.blocks, originals, strict=True))
    for change, original in zip(t.modifications, originals, strict=True):
        call = t.call_of(change.new)
        assert (call.cls, call.args, call.kwargs) == (Wrapper, (original,), {"r": 8})


def test_deep_copies_are_not_mistaken_for_constructor_calls():
    block = Block()
    with trace() as t:
        clone = copy.deepcopy(block)
    assert t.call_of(clone) is None and t.call_of(clone.lin) is None


# --- definition is not modification -----------------------------------------------------------------


class Outer(nn.Module):
    """Changes, during its own __init__, modules built by the __init__ of a child that has finished."""

    def __init__(self) -> None:
        super().__init__()
        self.net = Net()
        self.net.blocks[0].lin = nn.Identity()
        self.net.blocks.append(Block())
        del self.net.heads["a"]
        self._add_extra()

    def _add_extra(self) -> None:  # a helper method called from __init__ is still the definition
        self.extra = nn.Linear(2, 2)


class Injector(nn.Module):
    """Like PEFT's LoraModel: its __init__ changes a model that existed before it."""

    def __init__(self, model: Net) -> None:
        super().__init__()
        self.model = model
        model.blocks[0].lin = Wrapper(model.blocks[0].lin)


def test_assignments_while_the_owner_or_its_creators_init_runs_are_not_recorded():
    with trace() as t:
        outer = Outer()
    assert t.modifications == []
    assert isinstance(outer.net.blocks[0].lin, nn.Identity) and len(outer.net.blocks) == 4
    call = t.call_of(outer.net.blocks[1])
    assert call.parent is outer.net  # the innermost module whose __init__ was running
    assert t.call_of(outer.net).parent is outer


def test_a_change_made_inside_another_modules_init_to_an_older_model_is_recorded():
    net = Net()
    original = net.blocks[0].lin
    with trace() as t:
        injector = Injector(net)
    assert _summary(t.modifications) == [("set", net.blocks[0], "lin", original, net.blocks[0].lin)]
    assert t.call_of(net.blocks[0].lin).parent is injector
    # The statement is in Injector.__init__, which is in this file: the innermost user frame too.
    lines, first = inspect.getsourcelines(Injector)
    statement = first + next(i for i, text in enumerate(lines) if "model.blocks[0].lin = Wrapper" in text)
    [change] = t.modifications
    assert (change.filename, change.lineno, change.user_filename, change.user_lineno) == (
        __file__,
        statement,
        __file__,
        statement,
    )


def test_a_module_built_under_trace_is_modifiable_once_built():
    with trace() as t:
        block = Block()
        block.lin = nn.Identity()
    assert [(m.kind, m.owner, m.name) for m in t.modifications] == [("set", block, "lin")]


# --- transformers ----------------------------------------------------------------------------------


def test_building_and_loading_a_transformers_model_records_no_change(tmp_path):
    BertModel(_tiny_bert_config()).save_pretrained(tmp_path)
    with trace() as t:
        built = BertModel(_tiny_bert_config())
        loaded = BertModel.from_pretrained(tmp_path)
    assert t.modifications == []
    assert t.call_of(loaded) is not None and t.call_of(built.encoder.layer[1]).parent is built.encoder
    assert t.call_of(built.encoder.layer[1]).bound().arguments["layer_idx"] == 1


def test_set_input_embeddings_inside_transformers_is_recorded_with_both_locations():
    model = BertModel(_tiny_bert_config())
    old = model.embeddings.word_embeddings
    with trace() as t:
        model.set_input_embeddings(nn.Embedding(99, 32))
    line = _line_of("model.set_input_embeddings(nn.Embedding(99, 32))")
    assert _summary(t.modifications) == [
        ("set", model.embeddings, "word_embeddings", old, model.embeddings.word_embeddings)
    ]
    [change] = t.modifications
    assert change.filename.endswith("modeling_bert.py") and change.lineno > 0
    source_line = open(change.filename).read().splitlines()[change.lineno - 1]
    assert "self.embeddings.word_embeddings = value" in source_line
    assert (change.user_filename, change.user_lineno) == (__file__, line)


def test_transformers_layers_wrapped_in_a_loop_and_pooler_removed():
    with trace() as t:
        model = BertModel(_tiny_bert_config())
        queries = [layer.attention.self.query for layer in model.encoder.layer]
        pooler = model.pooler
        for layer in model.encoder.layer:
            layer.attention.self.query = Wrapper(layer.attention.self.query, r=8)
        model.pooler = None
    selfs = [layer.attention.self for layer in model.encoder.layer]
    assert [(m.kind, m.owner, m.name, m.old) for m in t.modifications] == [
        ("set", selfs[0], "query", queries[0]),
        ("set", selfs[1], "query", queries[1]),
        ("set", model, "pooler", pooler),
    ]
    assert t.call_of(selfs[1].query).args == (queries[1],)
    assert t.traced_roots == [model]  # the topmost traced ancestor of every owner


# --- the trace leaves torch as it was ------------------------------------------------------------------


def _patched_originals() -> dict[str, object]:
    names = [(nn.Module, "__delattr__")] + list(tracer._DIFFED_OPERATIONS)
    return {f"{cls.__name__}.{name}": cls.__dict__[name] for cls, name in names}


@pytest.mark.parametrize("raises", [False, True])
def test_everything_is_restored_after_the_trace_even_when_it_raises(raises):
    from torch.nn.modules import module as torch_module

    originals = _patched_originals()
    hooks_before = dict(torch_module._global_module_registration_hooks)
    net = Net()
    with pytest.raises(ValueError) if raises else contextlib.nullcontext():
        with trace() as t:
            assert current_trace() is t
            assert _patched_originals() != originals
            if raises:
                raise ValueError("in the traced block")
    assert current_trace() is None
    assert _patched_originals() == originals
    assert dict(torch_module._global_module_registration_hooks) == hooks_before

    # CPython cannot remove a __new__ once assigned (the class's slot stays the generic dispatcher),
    # so the tracer's __new__ stays, inert: it builds modules like object.__new__ and records nothing.
    assert nn.Module.__dict__["__new__"].__func__ is tracer._module_new

    class DefinedAfter(nn.Module):
        def __init__(self, width: int, *, bias: bool = True) -> None:
            super().__init__()
            self.lin = nn.Linear(width, width, bias=bias)

    later = DefinedAfter(3, bias=False)
    assert later.lin.in_features == 3 and later.lin.bias is None
    assert Block(5).lin.out_features == 5
    net.head = None
    del net.blocks[0]
    assert t.modifications == [] and len(t.calls) == 0


def test_nested_traces_both_record_and_current_trace_is_the_innermost():
    net = Net()
    with trace() as outer:
        net.head = None
        with trace() as inner:
            assert current_trace() is inner
            net.blocks[0] = Block()
        assert current_trace() is outer
    assert [m.name for m in outer.modifications] == ["head", "0"]
    assert [m.name for m in inner.modifications] == ["0"]
    assert outer.call_of(net.blocks[0]) is inner.call_of(net.blocks[0]) is not None


def test_trace_is_exported_from_the_package():
    assert archit_codemod.trace is trace


def test_a_block_trace_keeps_the_blocks_namespace():
    with trace() as t:
        local_net = Net()
    assert t.namespace["local_net"] is local_net and t.script_path is None


# --- running a script ---------------------------------------------------------------------------------


def test_run_script_runs_it_as_main_with_its_arguments_and_restores_the_interpreter(scripts):
    helper = scripts("pkg/helper_mod.py", "VALUE = 'imported from the script folder'\n")
    script = scripts(
        "pkg/modify.py",
        """
        import sys
        import helper_mod
        seen = dict(argv=list(sys.argv), name=__name__, file=__file__, path0=sys.path[0],
                    main_is_me=sys.modules["__main__"].__dict__ is globals(), value=helper_mod.VALUE)
        """,
    )
    argv, path, main = sys.argv, list(sys.path), sys.modules["__main__"]
    result = run_script(str(script), ["--flag", "x"])
    assert result.namespace["seen"] == {
        "argv": [str(script), "--flag", "x"],
        "name": "__main__",
        "file": str(script),
        "path0": str(helper.parent),
        "main_is_me": True,
        "value": "imported from the script folder",
    }
    assert sys.argv is argv and sys.path == path and sys.modules["__main__"] is main
    assert result.script_path == script and result.script_argv == [str(script), "--flag", "x"]
    sys.modules.pop("helper_mod", None)


def test_run_script_records_changes_of_classes_defined_in_the_script_and_in_helper_modules(scripts):
    scripts(
        "user_helpers.py",
        """
        from torch import nn

        def widen(model):
            model.fc = nn.Linear(2, 8)
        """,
    )
    script = scripts(
        "script.py",
        """
        from torch import nn
        import user_helpers

        class Inner(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(2, 2)

        class Model(nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = Inner()
                self.inner.fc = nn.Linear(2, 3)  # still the definition: Model.__init__ runs

        model = Model()
        model.inner.fc = nn.Linear(2, 4)
        user_helpers.widen(model.inner)
        """,
    )
    result = run_script(script)
    model = result.namespace["model"]
    assert [(m.kind, m.owner, m.name) for m in result.modifications] == [
        ("set", model.inner, "fc"),
        ("set", model.inner, "fc"),
    ]
    direct, through_helper = result.modifications
    assert (direct.filename, direct.lineno, direct.user_lineno) == (str(script), 16, 16)
    assert through_helper.filename.endswith("user_helpers.py") and through_helper.lineno == 4
    assert (through_helper.user_filename, through_helper.user_lineno) == (str(script), 17)
    assert type(model).__module__ == result.script_module_name == "__main__"
    assert result.call_of(model).cls is result.namespace["Model"]
    sys.modules.pop("user_helpers", None)


def test_sys_exit_zero_ends_the_script_normally_and_a_non_zero_exit_is_an_error(scripts):
    ok = scripts("ok.py", "import sys\nx = 1\nsys.exit(0)\ny = 2\n")
    assert run_script(ok).namespace["x"] == 1
    failing = scripts("failing.py", "import sys\nsys.exit(3)\n")
    with pytest.raises(ScriptError, match="exited with status 3"):
        run_script(failing)


def test_a_raising_script_gives_its_own_traceback(scripts):
    script = scripts(
        "raising.py",
        """
        def load():
            raise ValueError("no such checkpoint")

        try:
            load()
        except ValueError as error:
            raise RuntimeError("cannot build the model") from error
        """,
    )
    with pytest.raises(ScriptError) as caught:
        run_script(script)
    message = str(caught.value)
    assert message.startswith("Traceback (most recent call last):")
    assert f'File "{script}", line 2, in load' in message
    assert 'raise ValueError("no such checkpoint")' in message
    assert f'File "{script}", line 7, in <module>' in message
    assert message.endswith("RuntimeError: cannot build the model")
    assert "tracer.py" not in message and "runpy" not in message and "archit_codemod" not in message


def test_a_raising_script_leaves_torch_restored(scripts):
    originals = _patched_originals()
    script = scripts("boom.py", "from torch import nn\nm = nn.Linear(2, 2)\nm.x = nn.ReLU()\n1 / 0\n")
    with pytest.raises(ScriptError, match="ZeroDivisionError"):
        run_script(script)
    assert current_trace() is None and _patched_originals() == originals


def test_scripts_that_cannot_run(scripts, tmp_path):
    with pytest.raises(ScriptError, match="no such file"):
        run_script(tmp_path / "missing.py")
    with pytest.raises(ScriptError, match="is not a file"):
        run_script(tmp_path)
    binary = tmp_path / "model.bin"
    binary.write_bytes(b"\x00\x01\x02\xff")
    with pytest.raises(ScriptError, match="not a Python script"):
        run_script(binary)
    broken = scripts("broken.py", "x = 1\ny = (\n")
    with pytest.raises(ScriptError) as caught:
        run_script(broken)
    assert f'File "{broken}", line 2' in str(caught.value) and "SyntaxError" in str(caught.value)


def test_every_module_built_under_trace_has_a_constructor_call_and_the_same_structure():
    with torch.device("meta"):
        plain = BertModel(_tiny_bert_config())
        with trace() as t:
            traced = BertModel(_tiny_bert_config())
    assert [type(m) for m in plain.modules()] == [type(m) for m in traced.modules()]
    assert len(t.calls) == len(list(traced.modules()))


def test_tracing_keeps_no_discarded_model_alive():
    with trace() as t:
        discarded = Net()
        kept = Net()
        kept.head = None
        reference = weakref.ref(discarded)
        assert t.call_of(discarded.blocks[0]).parent is discarded
        del discarded
        gc.collect()
        assert reference() is None
    # What remains traced: the kept model, and the head its modification record still holds.
    old_head = t.modifications[0].old
    assert t.traced_roots == [kept] and len(t.calls) == len([*kept.modules(), *old_head.modules()])
