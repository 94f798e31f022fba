"""LibCST is imported on a thread of its own while the script runs; that thread must import nothing the script
could be importing at the same time (two threads importing modules that import each other can each see the
other's half-initialised module)."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
# What the command imports before the script runs.
from archit_codemod.declaration.provenance import Provenance
from archit_codemod.declaration.stages import stage
from archit_codemod.declaration.tracing.tracer import run_script
from archit_codemod.generation import LIBCST_MODULES, _import_in_background

already = "libcst" in sys.modules
before = set(sys.modules)
_import_in_background(LIBCST_MODULES).join()
new = set(sys.modules) - before
print(json.dumps({"already": already, "packages": sorted({name.split(".")[0] for name in new}), "loaded": [m in sys.modules for m in LIBCST_MODULES]}))
"""


def test_the_background_import_loads_libcst_and_nothing_else():
    completed = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300, check=True
    )
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert not result["already"]  # else the import would happen before the script, on the main thread
    assert result["packages"] == ["libcst"]
    assert all(result["loaded"])


SCRIPT = """
import sys

from torch import nn

# The stages that import LibCST on the main thread must not have been imported before the script runs.
print("stages imported before the script:", "archit_codemod.declaration.api" in sys.modules, file=sys.stderr)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.act = nn.ReLU()


model = Net()
model.act = nn.GELU()
"""


def test_the_command_imports_the_stages_after_the_script(scripts, run_cli):
    completed = run_cli(str(scripts("modify.py", SCRIPT)))
    assert completed.returncode == 0, completed.stderr
    assert "stages imported before the script: False" in completed.stderr
