"""Wall time of running a modification script under archit_codemod vs. running it with plain Python.

The script builds ``RobertaForMaskedLM`` from a roberta-base-sized config (random weights, no download)
and replaces its word embeddings, the seed's example. Compared, each in a fresh subprocess:

- ``python SCRIPT``
- ``python -m archit_codemod --no-verify SCRIPT`` (tracer + codemod), when the codemod's
  ``archit_codemod.declaration.api`` exists;
- the tracer alone (``run_script(SCRIPT)``), always, to isolate its overhead.

Prints the median of ``--repeat`` runs and the ratios; the target is <= 1.2x.

    python benchmarks/bench_tracer_overhead.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
TARGET = 1.2

SCRIPT = """\
import torch
from torch import nn
from transformers import RobertaConfig, RobertaForMaskedLM

# roberta-base's shape, random weights: nothing is downloaded.
config = RobertaConfig(
    vocab_size=50265,
    hidden_size=768,
    num_hidden_layers=12,
    num_attention_heads=12,
    intermediate_size=3072,
    max_position_embeddings=514,
    type_vocab_size=1,
)
model = RobertaForMaskedLM(config)


class CoolNewEmbeddingMatrix(nn.Module):
    def __init__(self, vocab_size: int, hidden_size: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(vocab_size, hidden_size) * 0.02)

    def forward(self, input_ids):
        return self.weight[input_ids]


model.roberta.embeddings.word_embeddings = CoolNewEmbeddingMatrix(config.vocab_size, config.hidden_size)
"""

TRACER_ONLY = (
    "import sys; from archit_codemod.declaration.tracing.tracer import run_script; "
    "t = run_script(sys.argv[1]); assert t.modifications, 'nothing recorded'"
)


def _time(command: list[str], environment: dict[str, str]) -> float:
    start = time.perf_counter()
    completed = subprocess.run(command, env=environment, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({completed.returncode}):\n{completed.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per command (median taken)")
    repeat = parser.parse_args().repeat

    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPOSITORY), os.environ.get("PYTHONPATH")]))
    environment.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.path.insert(0, str(REPOSITORY))
    has_codemod = importlib.util.find_spec("archit_codemod.declaration.api") is not None

    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "replace_word_embeddings.py"
        script.write_text(SCRIPT)
        commands = {
            "python SCRIPT": [sys.executable, str(script)],
            "tracer only": [sys.executable, "-c", TRACER_ONLY, str(script)],
        }
        if has_codemod:
            commands["python -m archit_codemod --no-verify SCRIPT"] = [
                sys.executable,
                "-m",
                "archit_codemod",
                "--no-verify",
                "-o",
                str(Path(folder) / "generated.py"),
                str(script),
            ]
        times: dict[str, list[float]] = {name: [] for name in commands}
        _time(commands["python SCRIPT"], environment)  # warm the file-system cache
        for _ in range(repeat):  # interleaved, so that machine load affects every command alike
            for name, command in commands.items():
                times[name].append(_time(command, environment))

    baseline = statistics.median(times["python SCRIPT"])
    print(f"median of {repeat} runs, roberta-base-sized RobertaForMaskedLM, word embeddings replaced")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"  {name:<45} {median:6.2f} s   ratio {median / baseline:4.2f}  (target <= {TARGET})")
    if not has_codemod:
        print("  (archit_codemod.declaration.api does not exist yet: the command line was not timed)")


if __name__ == "__main__":
    main()
