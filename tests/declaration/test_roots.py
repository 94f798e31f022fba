"""Which models a traced script modified (``find_roots``) and where a module sits in one (``paths_to``)."""

from __future__ import annotations

import sys

import pytest
from torch import nn

from archit_codemod.declaration.errors import NothingModifiedError
from archit_codemod.declaration.tracing.roots import find_roots, paths_index, paths_to
from archit_codemod.declaration.tracing.tracer import run_script

NETWORK = """
from torch import nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
        self.head = nn.Linear(2, 2)
"""


def test_every_modified_global_model_except_those_inside_another(scripts):
    script = scripts(
        "two_models.py",
        NETWORK
        + """
model = Net()
body = model.body          # inside model: not a root of its own
alias = model              # the same object: declared once, under its first name
other = Net()
untouched = Net()
model.body[1] = nn.GELU()
other.head = nn.Identity()
not_a_module = 3
""",
    )
    trace = run_script(script)
    namespace = trace.namespace
    assert find_roots(trace) == {"model": namespace["model"], "other": namespace["other"]}


def test_model_option_picks_a_global_and_explains_what_is_missing(scripts):
    script = scripts(
        "pick.py",
        NETWORK + "\nmodel = Net()\nspare = Net()\nmodel.head = None\nlabel = 'x'\n",
    )
    trace = run_script(script)
    assert find_roots(trace, "model") == {"model": trace.namespace["model"]}
    with pytest.raises(NothingModifiedError, match=r"no global module named 'mdl'.*: model, spare"):
        find_roots(trace, "mdl")
    with pytest.raises(NothingModifiedError, match="no global module named 'label'"):
        find_roots(trace, "label")
    with pytest.raises(NothingModifiedError, match=r"modified no module of 'spare' \(Net\)"):
        find_roots(trace, "spare")


def test_nothing_modified_is_an_error_that_says_so(scripts):
    trace = run_script(scripts("idle.py", NETWORK + "\nmodel = Net()\n"))
    with pytest.raises(NothingModifiedError, match="the script modified no module"):
        find_roots(trace)


def test_a_model_kept_in_a_local_variable_is_declared_through_its_topmost_traced_ancestor(scripts):
    script = scripts(
        "in_main.py",
        NETWORK
        + """
def main():
    model = Net()
    model.body[0] = nn.Linear(2, 2, bias=False)
    second = Net()                      # another model, also local: "Net_2"
    second.head = nn.Identity()
    second.head = nn.Linear(2, 2)       # two changes of one owner: one root
    standalone = nn.Linear(2, 2)        # built at top level: its own topmost traced ancestor
    standalone.extra = nn.ReLU()
    discarded = nn.Sequential(nn.ReLU())
    discarded[0] = nn.Tanh()
    return model

kept = [main()]
""",
    )
    trace = run_script(script)
    roots = find_roots(trace)
    assert list(roots) == ["Net", "Net_2", "Linear", "Sequential"]
    assert roots["Net"] is trace.namespace["kept"][0]
    assert [type(m.owner).__name__ for m in trace.modifications] == [
        "Sequential",
        "Net",
        "Net",
        "Linear",
        "Sequential",
    ]


def test_paths_to_lists_every_path_of_a_shared_module():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(nn.Sequential(shared), shared)
    assert paths_to(model, shared) == ["0.0", "1"]
    assert paths_to(model, model) == [""]
    assert paths_to(model, nn.ReLU()) == []


def test_paths_index_gives_every_module_its_paths_in_one_walk():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(nn.Sequential(shared, nn.ReLU()), shared)
    index = paths_index(model)
    assert index[id(shared)] == ["0.0", "1"]
    assert index[id(model)] == [""]
    assert index[id(model[0][1])] == ["0.1"]
    assert id(nn.ReLU()) not in index
    assert all(index[id(module)] == paths_to(model, module) for module in model.modules())


@pytest.fixture(autouse=True)
def _forget_script_modules():
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith(("two_models", "pick", "idle", "in_main")):
            del sys.modules[name]
