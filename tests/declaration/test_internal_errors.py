"""An unexpected exception in any stage is one message naming the stage, exit 2, nothing written.

Each test forces a bug into one stage by making one of the codemod's own functions raise, runs the command
line in-process, and checks the message, the exit status, that no file was written, and that
ARCHIT_CODEMOD_DEBUG=1 adds the traceback.
"""

from __future__ import annotations

import pytest

from archit_codemod import cli
from archit_codemod.cli import run
from archit_codemod.declaration.checking import completeness, verify
from archit_codemod.declaration.planning import module_class
from archit_codemod.declaration.rendering.render import Renderer
from archit_codemod.declaration.stages import InternalError, stage
from archit_codemod.declaration.tracing import tracer
from archit_codemod.delivery import deliver

SCRIPT = """
from torch import nn


class Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc = nn.Linear(width, width)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.fc(x))


class Net(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.block = Block(width)
        self.head = nn.Linear(width, 2)

    def forward(self, x):
        return self.head(self.block(x))


model = Net(4)
model.block.act = nn.GELU(approximate="tanh")
"""


class PlantedError(RuntimeError):
    """The bug planted in the stage under test."""


def planted(*args, **kwargs):
    raise PlantedError("planted bug")


STAGES = {
    "tracing": (tracer, "_record_change_in_sessions", None),
    "checking": (completeness, "snapshot", None),
    "planning": (module_class, "plan_change", "block"),
    "rendering": (Renderer, "call", "block.act"),
    "verifying": (verify, "snapshot", None),
    "writing": (deliver, "write_atomically", None),
}


@pytest.mark.parametrize("name", sorted(STAGES))
@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_an_internal_error_names_its_stage_exits_2_and_writes_nothing(
    name, debug, scripts, capsys, monkeypatch, tmp_path
):
    owner, function, path = STAGES[name]
    script = scripts("modify.py", SCRIPT)
    output = tmp_path / "declared.py"
    assert cli.main(["-o", str(output), str(script)]) == 0  # works before the bug is planted
    output.unlink()
    capsys.readouterr()
    monkeypatch.setattr(owner, function, planted)
    if debug:
        monkeypatch.setenv("ARCHIT_CODEMOD_DEBUG", "1")
    else:
        monkeypatch.delenv("ARCHIT_CODEMOD_DEBUG", raising=False)
    assert cli.main(["-o", str(output), str(script)]) == 2
    err = capsys.readouterr().err
    where = f" at {path}" if path is not None else ""
    assert (
        f"archit_codemod: error: internal error while {name}{where}: PlantedError: planted bug. This is a bug in "
        "archit_codemod, not in your script. Fix: report it with the script (and its arguments) that triggers it; "
        "ARCHIT_CODEMOD_DEBUG=1 shows the traceback."
    ) in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["modify.py"]
    assert ("Traceback (most recent call last)" in err) is debug
    if debug:
        assert f"in {planted.__name__}\n" in err and 'raise PlantedError("planted bug")' in err
    assert f"{script} failed" not in err  # a bug in the tracer is not the script's failure


def test_an_error_outside_every_stage_is_reported_the_same_way(scripts, capsys, monkeypatch):
    monkeypatch.setattr(run, "_report_warnings", planted)
    assert cli.main([str(scripts("modify.py", SCRIPT))]) == 2
    err = capsys.readouterr().err
    assert "archit_codemod: error: internal error while declaring: PlantedError: planted bug." in err
    assert "Traceback" not in err


def test_stages_nest_and_let_the_codemods_own_errors_through():
    from archit_codemod.declaration.errors import DeclarationError

    with pytest.raises(InternalError) as caught, stage("planning", path="encoder"):
        with stage("rendering", path="encoder.layer.0"):
            raise KeyError("x")
    assert (caught.value.stage, caught.value.path) == ("rendering", "encoder.layer.0")
    assert isinstance(caught.value.__cause__, KeyError)
    with pytest.raises(DeclarationError), stage("planning"):
        raise DeclarationError("a refusal with its own message")
    with pytest.raises(OSError), stage("writing", expected=(OSError,)):
        raise OSError("disk full")


def test_vendor_mode_reports_its_stages_too(scripts, capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(verify, "snapshot", planted)
    folder = tmp_path / "vendored"
    assert cli.main(["--mode", "vendor", "-o", str(folder), str(scripts("modify.py", SCRIPT))]) == 2
    assert "internal error while verifying: PlantedError: planted bug." in capsys.readouterr().err
    assert not folder.exists()
