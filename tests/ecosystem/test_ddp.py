"""Distributed data parallel: two CPU processes (gloo) train a ModelWithHead through Trainer, launched by
``torchrun``; both must end with the same weights, different from the initial ones."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

from ecosystem_support import PYTHON, subprocess_environment

SCRIPT = Path(__file__).with_name("ddp_train_script.py")
TIMEOUT_SECONDS = 240


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_ranks_train_to_the_same_weights(tmp_path):
    environment = subprocess_environment()
    # The script imports ecosystem_support from its own folder.
    environment["PYTHONPATH"] = f"{SCRIPT.parent}:{environment['PYTHONPATH']}"
    command = [
        PYTHON, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
        "--master_port", str(free_port()), str(SCRIPT), str(tmp_path),
    ]  # fmt: skip
    process = subprocess.run(
        command, env=environment, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, cwd=tmp_path
    )
    assert process.returncode == 0, f"torchrun failed:\n{process.stderr[-5000:]}"

    ranks = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    assert [record["rank"] for record in ranks] == [0, 1]
    assert all(record["world_size"] == 2 for record in ranks)
    # Each rank trained 4 steps on its own shard of the data ...
    assert all(len(record["batches"]) == 4 for record in ranks)
    assert ranks[0]["batches"] != ranks[1]["batches"]
    # ... yet both hold the same weights, so the gradients were averaged across the ranks.
    assert ranks[0]["initial"] == ranks[1]["initial"]
    assert ranks[0]["final"] == ranks[1]["final"]
    assert ranks[0]["final"] != ranks[0]["initial"]
