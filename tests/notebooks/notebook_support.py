"""Real notebooks in a real kernel: an IPython kernel (ipykernel) of this Python, driven by nbclient.

No faked IPython: each cell is sent to the kernel as Jupyter sends it, and its outputs come back as a notebook
stores them. The kernel runs this interpreter (a kernel spec of its own, so that no kernel installed for the user
is picked), in a given folder, without hub access, with an IPython profile folder of its own (no user startup
files), and talks over Unix sockets (no network). Starting a kernel takes seconds: tests share one per module where their cells cannot disturb each other.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

REPO_ROOT = Path(__file__).resolve().parents[2]
KERNEL_NAME = "archit-codemod-tests"
CELL_TIMEOUT = 600
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _kernel_manager(folder: Path, sockets: Path) -> KernelManager:
    specs = folder / "kernels"
    spec = specs / KERNEL_NAME
    spec.mkdir(parents=True, exist_ok=True)
    environment = {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "IPYTHONDIR": str(folder / "ipython"),
    }
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "archit_codemod tests",
                "language": "python",
                "env": environment,
            }
        )
    )
    unix = os.name != "nt"
    return KernelManager(
        kernel_name=KERNEL_NAME,
        kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(specs)]),
        # Unix sockets where there are: no network needed, not even the loopback interface.
        transport="ipc" if unix else "tcp",
        ip=str(sockets / "kernel") if unix else "127.0.0.1",
    )


class Kernel:
    """A running kernel; :meth:`run` executes one cell and returns its outputs."""

    def __init__(self, client: NotebookClient):
        self._client = client
        self._statuses: dict[int, str] = {}
        client.on_cell_executed = self._record_status

    def _record_status(self, cell: nbformat.NotebookNode, cell_index: int, execute_reply: dict) -> None:
        self._statuses[cell_index] = execute_reply["content"]["status"]

    def run(self, source: str) -> CellOutputs:
        notebook = self._client.nb
        cell = nbformat.v4.new_code_cell(source)
        notebook.cells.append(cell)
        index = len(notebook.cells) - 1
        self._client.execute_cell(cell, index)
        return CellOutputs(cell.outputs, failed=self._statuses.pop(index) != "ok")

    def run_ok(self, source: str) -> CellOutputs:
        """Run a cell that must not raise; its outputs."""
        outputs = self.run(source)
        assert not outputs.failed, (
            f"the cell failed {outputs.error}:\n{source}\n{outputs.traceback}{outputs.stderr}"
        )
        return outputs


@contextmanager
def running_kernel(folder: Path) -> Iterator[Kernel]:
    """A kernel whose working folder is ``folder`` (its spec and profile in ``folder/.kernel``)."""
    notebook = nbformat.v4.new_notebook()
    # A short folder for the sockets: a Unix socket's path has at most about a hundred characters.
    with tempfile.TemporaryDirectory(
        prefix="kernel-", dir="/tmp" if os.path.isdir("/tmp") else None
    ) as sockets:
        client = NotebookClient(
            notebook,
            km=_kernel_manager(folder / ".kernel", Path(sockets)),
            timeout=CELL_TIMEOUT,
            allow_errors=True,
            resources={"metadata": {"path": str(folder)}},
        )
        with client.setup_kernel():
            yield Kernel(client)


class CellOutputs:
    """What one cell showed: standard output and error, rich displays, the error it raised (if any), and whether
    the kernel reported it failed (what stops "Run All")."""

    def __init__(self, outputs: list[nbformat.NotebookNode], failed: bool):
        self.outputs = outputs
        self.failed = failed

    def _stream(self, name: str) -> str:
        return "".join(o.text for o in self.outputs if o.output_type == "stream" and o.name == name)

    @property
    def stdout(self) -> str:
        return self._stream("stdout")

    @property
    def stderr(self) -> str:
        return self._stream("stderr")

    def displayed(self, mime: str) -> list[str]:
        """The ``mime`` part of each rich output (``display`` and the cell's value)."""
        return [
            o.data[mime]
            for o in self.outputs
            if o.output_type in ("display_data", "execute_result") and mime in o.data
        ]

    @property
    def error(self) -> tuple[str, str] | None:
        """``(exception name, message)`` of the exception the cell raised."""
        errors = [o for o in self.outputs if o.output_type == "error"]
        return (errors[0].ename, errors[0].evalue) if errors else None

    @property
    def traceback(self) -> list[str]:
        """The traceback lines the notebook shows for the error, without colours."""
        errors = [o for o in self.outputs if o.output_type == "error"]
        return [_ANSI.sub("", line) for line in errors[0].traceback] if errors else []


def check_rebuilt(kind: str, target: Path, traced: Path, class_name: str) -> str:
    """Rebuild a traced model from generated files in a fresh Python process, with nothing of the session that
    generated them: ``rebuild_check.py`` loads the traced state dict strictly and compares outputs. Its report."""
    process = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("rebuild_check.py")),
            kind,
            str(target),
            str(traced),
            class_name,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"},
    )
    assert process.returncode == 0, process.stderr[-4000:]
    return process.stdout


SAVE_TRACED = """
import torch as _torch
from transformers.utils import ModelOutput as _ModelOutput
_inputs = {inputs}
{model}.eval()
with _torch.no_grad():
    _output = {model}(**_inputs)
_torch.save(
    {{
        "state_dict": {model}.state_dict(),
        "config": getattr({model}, "config", None),
        "inputs": _inputs,
        "output": _output.to_tuple()[0] if isinstance(_output, _ModelOutput) else _output,
    }},
    {path!r},
)
"""


def save_traced(kernel: Kernel, model: str, path: Path, inputs: str) -> None:
    """Have the kernel save ``model``'s state dict, its config, inputs (``inputs``, a Python expression of a dict of
    keyword arguments) and the first output on them, for :func:`check_rebuilt`."""
    kernel.run_ok(SAVE_TRACED.format(model=model, path=str(path), inputs=inputs))
