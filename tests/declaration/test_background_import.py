"""LibCST is imported on a thread of its own while the script runs; that thread must import nothing the script
could be importing at the same time (two threads importing modules that import each other can each see the
other's half-initialised module)."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
from archit_codemod.declaration.tracing.tracer import run_script  # what the command imports before the script
from archit_codemod.generation import LIBCST_MODULES, _import_in_background

before = set(sys.modules)
_import_in_background(LIBCST_MODULES).join()
new = set(sys.modules) - before
print(json.dumps({"packages": sorted({name.split(".")[0] for name in new}), "loaded": [m in sys.modules for m in LIBCST_MODULES]}))
"""


def test_the_background_import_loads_libcst_and_nothing_else():
    completed = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300, check=True
    )
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["packages"] == ["libcst"]
    assert all(result["loaded"])
