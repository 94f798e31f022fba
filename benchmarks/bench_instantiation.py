"""Cost of the instantiation layer over plain transformers, on a roberta-base-sized checkpoint.

Measures, in fresh subprocesses so that peak memory and warm caches do not leak between runs:

- ``from_pretrained`` wall time and peak memory (resident set growth) of ``ForSingleLabelTokenClassification``
  vs. ``AutoModelForTokenClassification``, both loading the same locally saved ``RobertaModel`` checkpoint;
- one training step (forward + backward, batch 4 x 64, one thread) of ``ForSingleLabelTokenClassification`` vs.
  ``RobertaForTokenClassification``, both in one subprocess with their steps alternating (median of each).

Prints each ratio (ours / transformers); the target is <= 1.05. The checkpoint has random weights, built from
``RobertaConfig()`` in a temporary folder (no hub). Usage: ``python benchmarks/bench_instantiation.py [--repeats N]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

# Run from a checkout without installing: the package is the parent folder of benchmarks/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

NUM_LABELS = 9
BATCH, LENGTH = 4, 64


def make_checkpoint(folder: Path) -> None:
    import torch
    from transformers import RobertaConfig, RobertaModel

    torch.manual_seed(0)
    RobertaModel(RobertaConfig()).save_pretrained(folder)  # roberta-base sizes, random weights


def load(kind: str, checkpoint: str):
    if kind == "ours":
        from archit_codemod.instantiation.basemodels import RobertaBaseModel
        from archit_codemod.instantiation.heads import TokenClassificationHeadConfig
        from archit_codemod.instantiation.tasks import ForSingleLabelTokenClassification

        return ForSingleLabelTokenClassification.from_pretrained(
            checkpoint, RobertaBaseModel, TokenClassificationHeadConfig(num_labels=NUM_LABELS)
        )
    if kind == "auto":
        from transformers import AutoModelForTokenClassification

        return AutoModelForTokenClassification.from_pretrained(checkpoint, num_labels=NUM_LABELS)
    if kind == "roberta":
        from transformers import RobertaForTokenClassification

        return RobertaForTokenClassification.from_pretrained(checkpoint, num_labels=NUM_LABELS)
    raise ValueError(kind)


def _peak_rss_bytes() -> int:
    """Peak resident set size of this process so far (VmHWM). Unlike getrusage's ru_maxrss, which Linux carries
    over from the parent through fork and exec, VmHWM starts afresh in a new program."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("No VmHWM in /proc/self/status: peak memory is measured on Linux only.")


def measure_load(kind: str, checkpoint: str) -> dict[str, float]:
    import time

    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    torch.set_num_threads(1)
    # Import everything the load needs first, so that only the load itself is timed and counted.
    from transformers import AutoModelForTokenClassification, RobertaModel  # noqa: F401

    import archit_codemod.instantiation.basemodels  # noqa: F401
    import archit_codemod.instantiation.heads  # noqa: F401
    import archit_codemod.instantiation.tasks  # noqa: F401

    baseline = _peak_rss_bytes()
    start = time.perf_counter()
    model = load(kind, checkpoint)
    seconds = time.perf_counter() - start
    # transformers may leave weights memory-mapped from the safetensors file, resident only once read: read
    # every parameter, so that both sides count the memory a model in use holds.
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.sum()
    return {"seconds": seconds, "peak_bytes": _peak_rss_bytes() - baseline}


def measure_step(checkpoint: str, steps: int) -> dict[str, float]:
    """Both models in one process, their steps alternating, so that the load other processes put on the machine
    affects both alike. Returns the median step time of each."""
    import time

    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    torch.set_num_threads(1)
    models = {kind: load(kind, checkpoint).train() for kind in ("ours", "roberta")}
    generator = torch.Generator().manual_seed(0)
    input_ids = torch.randint(3, 50000, (BATCH, LENGTH), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    labels = torch.randint(0, NUM_LABELS, (BATCH, LENGTH), generator=generator)

    def step(model) -> float:
        model.zero_grad(set_to_none=True)
        start = time.perf_counter()
        model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss.backward()
        return time.perf_counter() - start

    times: dict[str, list[float]] = {kind: [] for kind in models}
    for repetition in range(steps + 1):
        for kind, model in models.items():
            seconds = step(model)
            if repetition > 0:  # the first step of each is a warm-up
                times[kind].append(seconds)
    return {f"{kind}_seconds": statistics.median(values) for kind, values in times.items()}


def in_subprocess(*arguments: str) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, __file__, *arguments], check=True, capture_output=True, text=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--repeats", type=int, default=5, help="subprocesses per measurement (the median counts)"
    )
    parser.add_argument("--steps", type=int, default=10, help="timed training steps of each model")
    parser.add_argument("--measure", nargs=2, metavar=("WHAT", "KIND"), help=argparse.SUPPRESS)
    parser.add_argument("--checkpoint", help=argparse.SUPPRESS)
    arguments = parser.parse_args()

    if arguments.measure:  # child process: one measurement, printed as JSON
        what, kind = arguments.measure
        if what == "checkpoint":
            make_checkpoint(Path(arguments.checkpoint))
            print("{}")
        elif what == "load":
            print(json.dumps(measure_load(kind, arguments.checkpoint)))
        else:
            print(json.dumps(measure_step(arguments.checkpoint, arguments.steps)))
        return

    with tempfile.TemporaryDirectory() as folder:
        print("Saving a roberta-base-sized RobertaModel with random weights ...", flush=True)
        in_subprocess("--measure", "checkpoint", "-", "--checkpoint", folder)  # keeps this process small
        loads: dict[str, list[dict[str, float]]] = {"ours": [], "auto": []}
        for _ in range(arguments.repeats):  # alternate, so drifting machine load affects both alike
            for kind in loads:
                loads[kind].append(in_subprocess("--measure", "load", kind, "--checkpoint", folder))
        step = in_subprocess(
            "--measure", "step", "-", "--checkpoint", folder, "--steps", str(arguments.steps)
        )

    rows = []
    for metric in ("seconds", "peak_bytes"):
        mine = statistics.median(result[metric] for result in loads["ours"])
        reference = statistics.median(result[metric] for result in loads["auto"])
        rows.append((f"from_pretrained {metric}", mine, reference, "AutoModelForTokenClassification", metric))
    rows.append(
        (
            "forward+backward seconds",
            step["ours_seconds"],
            step["roberta_seconds"],
            "RobertaForTokenClassification",
            "seconds",
        )
    )
    print(f"\n{'measurement':<28} {'ours':>10} {'transformers':>13}  {'ratio':>6}  (target <= 1.05)")
    for label, mine, reference, versus, metric in rows:
        unit = (
            (lambda v: f"{v / 2**20:.0f} MiB") if metric == "peak_bytes" else (lambda v: f"{v * 1000:.0f} ms")
        )
        ratio = f"{mine / reference:.3f}" if reference else "n/a"
        print(f"{label:<28} {unit(mine):>10} {unit(reference):>13}  {ratio:>6}  vs {versus}")


if __name__ == "__main__":
    main()
