"""Benchmark of the declaration codemod: its overhead over running the script, and its own cost.

(a) Wall time of ``python -m archit_codemod examples/roberta_word_embeddings.py --size base`` (with and
    without verification) against ``python examples/roberta_word_embeddings.py --size base``.
    Target: at most 1.15 times the script's own time, with the default verification.
(b) Time and peak memory of the codemod on ``examples/llama_7b_meta.py``, which builds a Llama-7B-sized
    model on the ``meta`` device, with 8, 32 and 80 decoder layers, next to the same script at a tiny size.
    Targets: the whole command under 6 s and 2 GB at 32 layers, and the codemod's own time (the command's
    minus the script's) flat in the number of layers. The whole command includes the script: where
    ``python SCRIPT`` alone takes 6 s or more (python, importing torch and transformers, building the model), the
    6 s cannot be met by the codemod, and the line after the verdict says so and shows what the codemod adds.

(c) With ``--many-classes``: a tiny Llama whose every layer gets LoRA wrappers of another rank (``r = i + 1``), so
    that each layer needs generated classes of its own (three per layer), at 16 and 64 layers: the codemod's
    own time per generated class, which should not grow with their number.

Every measurement is a fresh subprocess (imports included, as a user would see it); the peak memory is the
child's maximum resident set size from ``os.wait4``, which also gives its CPU time (user + system): on a
shared, loaded machine the CPU-time ratio is the steadier of the two. Run from anywhere:

    python benchmarks/bench_declaration.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SEED_EXAMPLE = "examples/roberta_word_embeddings.py"
LLAMA_EXAMPLE = "examples/llama_7b_meta.py"
TIME_RATIO_TARGET = 1.15
LLAMA_SECONDS_TARGET = 6.0
LLAMA_LAYERS = (8, 32, 80)
LLAMA_MEGABYTES_TARGET = 2048.0
MANY_CLASSES_LAYERS = (16, 64)
RANK_PER_LAYER_SCRIPT = """
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM


class LoRALinear(nn.Module):
    def __init__(self, base, r):
        super().__init__()
        self.base = base
        self.lora_A = nn.Linear(base.in_features, r, bias=False)
        self.lora_B = nn.Linear(r, base.out_features, bias=False)

    def forward(self, x):
        return self.base(x) + self.lora_B(self.lora_A(x))


config = LlamaConfig(
    vocab_size=99, hidden_size=32, intermediate_size=37, num_hidden_layers={layers}, num_attention_heads=4,
    num_key_value_heads=4, max_position_embeddings=64,
)
model = LlamaForCausalLM(config)
for i, layer in enumerate(model.model.layers):
    layer.self_attn.q_proj = LoRALinear(layer.self_attn.q_proj, r=i + 1)
    layer.mlp.up_proj = LoRALinear(layer.mlp.up_proj, r=i + 1)
"""


@dataclass
class Measurement:
    """Medians over the repeats of one command."""

    label: str
    seconds: float
    cpu_seconds: float
    peak_megabytes: float


def run_once(command: list[str]) -> tuple[float, float, float]:
    """Wall time (s), CPU time (s) and peak RSS (MB) of one run of ``command``; fails loudly when it fails."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            stderr.seek(0)
            message = stderr.read().decode(errors="replace")[-4000:]
            raise SystemExit(f"{' '.join(command)} exited with {process.returncode}:\n{message}")
    # ru_maxrss is in kilobytes on Linux.
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def summarize(label: str, runs: list[tuple[float, float, float]]) -> Measurement:
    seconds, cpu_seconds, megabytes = zip(*runs, strict=True)
    return Measurement(
        label, statistics.median(seconds), statistics.median(cpu_seconds), statistics.median(megabytes)
    )


def measure_interleaved(commands: dict[str, list[str]], repeats: int) -> dict[str, Measurement]:
    """Medians of ``repeats`` runs of each command, alternating them so load on the machine hits all alike."""
    runs: dict[str, list[tuple[float, float, float]]] = {label: [] for label in commands}
    for _ in range(repeats):
        for label, command in commands.items():
            runs[label].append(run_once(command))
    return {label: summarize(label, results) for label, results in runs.items()}


def print_table(title: str, rows: list[Measurement]) -> None:
    width = max(len(row.label) for row in rows)
    print(f"\n{title}")
    print(f"  {'command':<{width}}  {'wall s':>7}  {'CPU s':>7}  {'peak RSS MB':>11}")
    for row in rows:
        print(
            f"  {row.label:<{width}}  {row.seconds:>7.2f}  {row.cpu_seconds:>7.2f}  {row.peak_megabytes:>11.0f}"
        )


def verdict(ok: bool) -> str:
    return "ok" if ok else "OVER TARGET"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per command (medians are reported)")
    parser.add_argument("--python", default=sys.executable, help="interpreter to benchmark with")
    parser.add_argument(
        "--many-classes", action="store_true", help="only (c): a different LoRA rank in every layer"
    )
    args = parser.parse_args()
    python = args.python
    if args.many_classes:
        many_classes(python, args.repeats)
        return

    with tempfile.TemporaryDirectory() as scratch:
        output = str(Path(scratch) / "subclass.py")
        codemod = [python, "-m", "archit_codemod", "-o", output]
        seed = measure_interleaved(
            {
                f"python {SEED_EXAMPLE} --size base": [python, SEED_EXAMPLE, "--size", "base"],
                "python -m archit_codemod (verified)": [*codemod, SEED_EXAMPLE, "--size", "base"],
                "python -m archit_codemod --no-verify": [
                    *codemod,
                    "--no-verify",
                    SEED_EXAMPLE,
                    "--size",
                    "base",
                ],
            },
            args.repeats,
        )
        script, verified, unverified = seed.values()
        print_table("(a) seed example, roberta-base-sized", [script, verified, unverified])
        for row in (verified, unverified):
            wall, cpu = row.seconds / script.seconds, row.cpu_seconds / script.cpu_seconds
            print(
                f"  {row.label} / script: wall {wall:.2f}x, CPU {cpu:.2f}x "
                f"(target <= {TIME_RATIO_TARGET}x: {verdict(wall <= TIME_RATIO_TARGET)})"
            )

        variants = {
            f"7b, {layers} layers": ["--size", "7b", "--layers", str(layers)] for layers in LLAMA_LAYERS
        }
        variants["tiny"] = ["--size", "tiny"]
        llama = {
            variant: measure_interleaved(
                {
                    f"python {LLAMA_EXAMPLE} {' '.join(options)}": [python, LLAMA_EXAMPLE, *options],
                    f"python -m archit_codemod {LLAMA_EXAMPLE} {' '.join(options)}": [
                        *codemod,
                        LLAMA_EXAMPLE,
                        *options,
                    ],
                },
                args.repeats,
            )
            for variant, options in variants.items()
        }
    rows = [row for measurements in llama.values() for row in measurements.values()]
    print_table("(b) LoRA on Llama built on the meta device", rows)
    for variant, measurements in llama.items():
        script_row, codemod_row = measurements.values()
        within = (
            codemod_row.seconds < LLAMA_SECONDS_TARGET and codemod_row.peak_megabytes < LLAMA_MEGABYTES_TARGET
        )
        print(
            f"  {variant}: the command {codemod_row.seconds:.2f} s wall, peak {codemod_row.peak_megabytes:.0f} MB "
            f"(targets < {LLAMA_SECONDS_TARGET:.0f} s and < {LLAMA_MEGABYTES_TARGET:.0f} MB: {verdict(within)}); "
            f"its own time over the script's {codemod_row.seconds - script_row.seconds:.2f} s wall, "
            f"{codemod_row.cpu_seconds - script_row.cpu_seconds:.2f} s CPU"
        )
        if script_row.seconds >= LLAMA_SECONDS_TARGET:
            print(
                f"    the script alone takes {script_row.seconds:.2f} s on this machine: the whole command cannot be "
                f"under {LLAMA_SECONDS_TARGET:.0f} s here, whatever the codemod does; its own share is the "
                f"{codemod_row.seconds - script_row.seconds:.2f} s above"
            )
    own = {
        variant: codemod_row.cpu_seconds - script_row.cpu_seconds
        for variant, (script_row, codemod_row) in ((v, tuple(m.values())) for v, m in llama.items())
        if variant != "tiny"
    }
    print(
        "  the codemod's own CPU time by layers: "
        + ", ".join(f"{variant.split(', ')[1]} {seconds:.2f} s" for variant, seconds in own.items())
        + f" (largest minus smallest: {max(own.values()) - min(own.values()):.2f} s)"
    )


def many_classes(python: str, repeats: int) -> None:
    """(c): the codemod's own time per generated class, with three generated classes per layer."""
    rows, own = [], {}
    with tempfile.TemporaryDirectory() as scratch:
        for layers in MANY_CLASSES_LAYERS:
            script = Path(scratch) / f"rank_per_layer_{layers}.py"
            script.write_text(RANK_PER_LAYER_SCRIPT.format(layers=layers))
            output = str(Path(scratch) / f"declared_{layers}.py")
            measured = measure_interleaved(
                {
                    f"python rank_per_layer.py ({layers} layers)": [python, str(script)],
                    f"python -m archit_codemod rank_per_layer.py ({layers} layers)": [
                        python, "-m", "archit_codemod", "-o", output, str(script),
                    ],
                },
                repeats,
            )  # fmt: skip
            script_row, codemod_row = measured.values()
            rows += [script_row, codemod_row]
            own[layers] = codemod_row.cpu_seconds - script_row.cpu_seconds
    print_table(
        "(c) a different LoRA rank in every layer of a tiny Llama (3 generated classes per layer)", rows
    )
    for layers, seconds in own.items():
        classes = 3 * layers + 2  # attention, MLP and decoder layer per layer; LlamaModel, LlamaForCausalLM
        print(
            f"  {layers} layers: the codemod's own CPU time {seconds:.2f} s, {1000 * seconds / classes:.0f} ms per class"
        )


if __name__ == "__main__":
    main()
