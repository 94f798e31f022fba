"""Cost of the instantiation layer over plain transformers, at the sizes of roberta-base and GPT-2.

Each load is measured in a fresh subprocess (so that peak memory and warm caches do not leak between runs), with
everything the load imports (the modeling code on both sides, and a standalone folder's remote code) imported
before the clock; ours and the reference alternate, pair by pair, and the medians count:

- ``from_pretrained`` of ``ForSingleLabelTokenClassification`` vs. ``AutoModelForTokenClassification``, both from the
  same saved ``RobertaModel`` (roberta-base sizes);
- a standalone folder (``save_pretrained(..., standalone=True)``) loaded with
  ``AutoModelForTokenClassification.from_pretrained(folder, trust_remote_code=True)`` vs. the same auto class on a
  saved ``RobertaForTokenClassification``;
- ``from_pretrained`` of ``ForCausalLM`` vs. ``AutoModelForCausalLM``, both from the same saved ``GPT2LMHeadModel``
  (GPT-2 small sizes);

and, in one subprocess each with the two models' runs alternating (median of each, one thread):

- one training step (forward + backward, batch 4 x 64) of ``ForSingleLabelTokenClassification`` vs.
  ``RobertaForTokenClassification``;
- ``generate`` (greedy, 32 new tokens after a 16-token prompt, with the cache) of ``ForCausalLM`` vs.
  ``GPT2LMHeadModel`` with the same weights (the generated tokens are checked equal).

Prints each ratio (ours / transformers); the target is <= 1.05. The checkpoints have random weights, built from the
default configs in a temporary folder (no hub). Usage: ``python benchmarks/bench_instantiation.py [--repeats N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

# Run from a checkout without installing: the package is the parent folder of benchmarks/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

NUM_LABELS = 9
BATCH, LENGTH = 4, 64
PROMPT, NEW_TOKENS = 16, 32
# Load measurements: kind -> (checkpoint subfolder, what it is compared with).
LOAD_PAIRS = (("ours", "auto"), ("standalone", "auto-with-head"), ("ours-causal-lm", "auto-causal-lm"))


def make_checkpoints(folder: Path) -> None:
    import torch
    from transformers import (
        GPT2Config,
        GPT2LMHeadModel,
        RobertaConfig,
        RobertaForTokenClassification,
        RobertaModel,
    )

    torch.manual_seed(0)
    RobertaModel(RobertaConfig()).save_pretrained(folder / "roberta")  # roberta-base sizes, random weights
    RobertaForTokenClassification(RobertaConfig(num_labels=NUM_LABELS)).save_pretrained(
        folder / "roberta-with-head"
    )
    GPT2LMHeadModel(GPT2Config()).save_pretrained(folder / "gpt2")
    load("ours", folder).save_pretrained(folder / "standalone", standalone=True)


def load(kind: str, folder: Path):
    from transformers import AutoModelForCausalLM, AutoModelForTokenClassification

    from archit_codemod.instantiation.basemodels import AutoBaseModel, RobertaBaseModel
    from archit_codemod.instantiation.heads import CausalLMHeadConfig, TokenClassificationHeadConfig
    from archit_codemod.instantiation.tasks import ForCausalLM, ForSingleLabelTokenClassification

    if kind == "ours":
        return ForSingleLabelTokenClassification.from_pretrained(
            folder / "roberta", RobertaBaseModel, TokenClassificationHeadConfig(num_labels=NUM_LABELS)
        )
    if kind == "auto":
        return AutoModelForTokenClassification.from_pretrained(folder / "roberta", num_labels=NUM_LABELS)
    if kind == "standalone":
        return AutoModelForTokenClassification.from_pretrained(folder / "standalone", trust_remote_code=True)
    if kind == "auto-with-head":
        return AutoModelForTokenClassification.from_pretrained(folder / "roberta-with-head")
    if kind == "ours-causal-lm":
        return ForCausalLM.from_pretrained(
            folder / "gpt2", AutoBaseModel, CausalLMHeadConfig(tie_weights=True)
        )
    if kind == "auto-causal-lm":
        return AutoModelForCausalLM.from_pretrained(folder / "gpt2")
    raise ValueError(kind)


def _peak_rss_bytes() -> int:
    """Peak resident set size of this process so far (VmHWM). Unlike getrusage's ru_maxrss, which Linux carries
    over from the parent through fork and exec, VmHWM starts afresh in a new program."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("No VmHWM in /proc/self/status: peak memory is measured on Linux only.")


def import_everything(folder: Path) -> None:
    """Import what any load imports, so that only the load itself is timed and counted: the modeling code of both
    sides, this package, and the standalone folder's remote code."""
    from transformers import (  # noqa: F401
        AutoModelForCausalLM,
        AutoModelForTokenClassification,
        GPT2LMHeadModel,
        RobertaForTokenClassification,
        RobertaModel,
    )
    from transformers.dynamic_module_utils import get_class_from_dynamic_module

    import archit_codemod.instantiation.basemodels  # noqa: F401
    import archit_codemod.instantiation.heads  # noqa: F401
    import archit_codemod.instantiation.tasks  # noqa: F401
    from archit_codemod.instantiation.bundle import ENTRY_MODULE

    get_class_from_dynamic_module(f"{ENTRY_MODULE}.ForSingleLabelTokenClassification", folder / "standalone")


def measure_load(kind: str, folder: Path) -> dict[str, float]:
    import time

    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    torch.set_num_threads(1)
    import_everything(folder)
    baseline = _peak_rss_bytes()
    start = time.perf_counter()
    model = load(kind, folder)
    seconds = time.perf_counter() - start
    # transformers may leave weights memory-mapped from the safetensors file, resident only once read: read
    # every parameter, so that both sides count the memory a model in use holds.
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.sum()
    return {"seconds": seconds, "peak_bytes": _peak_rss_bytes() - baseline}


def alternate(runs: dict, repetitions: int) -> dict[str, float]:
    """Median seconds of each run, the runs alternating, after one warm-up each."""
    import time

    times: dict[str, list[float]] = {name: [] for name in runs}
    for repetition in range(repetitions + 1):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            if repetition > 0:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def measure_step(folder: Path, steps: int) -> dict[str, float]:
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    torch.set_num_threads(1)
    models = {"ours": load("ours", folder).train(), "transformers": load("auto", folder).train()}
    generator = torch.Generator().manual_seed(0)
    input_ids = torch.randint(3, 50000, (BATCH, LENGTH), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    labels = torch.randint(0, NUM_LABELS, (BATCH, LENGTH), generator=generator)

    def step(model):
        def run() -> None:
            model.zero_grad(set_to_none=True)
            model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss.backward()

        return run

    return alternate({name: step(model) for name, model in models.items()}, steps)


def measure_generate(folder: Path, repetitions: int) -> dict[str, float]:
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    torch.set_num_threads(1)
    models = {
        "ours": load("ours-causal-lm", folder).eval(),
        "transformers": load("auto-causal-lm", folder).eval(),
    }
    input_ids = torch.randint(0, 50000, (1, PROMPT), generator=torch.Generator().manual_seed(0))
    outputs = {}

    def generate(name, model):
        def run() -> None:
            with torch.no_grad():
                outputs[name] = model.generate(
                    input_ids=input_ids, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, do_sample=False
                )

        return run

    medians = alternate({name: generate(name, model) for name, model in models.items()}, repetitions)
    if not torch.equal(outputs["ours"], outputs["transformers"]):
        raise AssertionError("ForCausalLM generated other tokens than GPT2LMHeadModel with the same weights")
    return medians


def in_subprocess(*arguments: str, modules_cache: str) -> dict[str, float]:
    # Remote code goes to a module cache of this run, not the user's.
    environment = {**os.environ, "HF_MODULES_CACHE": modules_cache}
    result = subprocess.run(
        [sys.executable, __file__, *arguments], check=True, capture_output=True, text=True, env=environment
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def child(arguments: argparse.Namespace) -> None:
    """One measurement in this (fresh) process, printed as JSON."""
    what, kind = arguments.measure
    folder = Path(arguments.checkpoint)
    if what == "checkpoints":
        make_checkpoints(folder)
        print("{}")
    elif what == "load":
        print(json.dumps(measure_load(kind, folder)))
    elif what == "step":
        print(json.dumps(measure_step(folder, arguments.steps)))
    else:
        print(json.dumps(measure_generate(folder, arguments.steps)))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--repeats", type=int, default=6, help="fresh-process pairs per load (the median counts)"
    )
    parser.add_argument(
        "--steps", type=int, default=10, help="timed training steps and generations of each model"
    )
    parser.add_argument("--measure", nargs=2, metavar=("WHAT", "KIND"), help=argparse.SUPPRESS)
    parser.add_argument("--checkpoint", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.measure:
        child(arguments)
        return

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        print("Saving roberta-base- and GPT-2-sized checkpoints with random weights ...", flush=True)
        cache = str(Path(folder) / "modules")
        in_subprocess("--measure", "checkpoints", "-", "--checkpoint", folder, modules_cache=cache)
        for mine, reference in LOAD_PAIRS:
            loads: dict[str, list[dict[str, float]]] = {mine: [], reference: []}
            for _ in range(arguments.repeats):  # alternate, so drifting machine load affects both alike
                for kind in loads:
                    measured = in_subprocess(
                        "--measure", "load", kind, "--checkpoint", folder, modules_cache=cache
                    )
                    loads[kind].append(measured)
            for metric in ("seconds", "peak_bytes"):
                values = {kind: statistics.median(result[metric] for result in loads[kind]) for kind in loads}
                rows.append((f"load {mine} {metric}", values[mine], values[reference], reference, metric))
        steps = str(arguments.steps)
        for what, label, versus in (
            ("step", "forward+backward seconds", "RobertaForTokenClassification"),
            ("generate", "generate seconds", "GPT2LMHeadModel"),
        ):
            result = in_subprocess(
                "--measure", what, "-", "--checkpoint", folder, "--steps", steps, modules_cache=cache
            )
            rows.append((label, result["ours"], result["transformers"], versus, "seconds"))

    print(f"\n{'measurement':<34} {'ours':>10} {'transformers':>13}  {'ratio':>6}  (target <= 1.05)")
    for label, mine, reference, versus, metric in rows:
        unit = (
            (lambda v: f"{v / 2**20:.0f} MiB") if metric == "peak_bytes" else (lambda v: f"{v * 1000:.0f} ms")
        )
        ratio = f"{mine / reference:.3f}" if reference else "n/a"
        print(f"{label:<34} {unit(mine):>10} {unit(reference):>13}  {ratio:>6}  vs {versus}")


if __name__ == "__main__":
    main()
