"""Benchmark of the declaration codemod: its cost over running the script, on the workloads users run.

Each workload is a script and the same script under ``python -m archit_codemod -o OUT`` (default verification),
run as fresh processes, alternating, ``--repeats`` pairs; the ratio of each pair is taken and the median reported:

- ``seed``: ``examples/roberta_word_embeddings.py --size base`` (the README's example at roberta-base size);
- ``llama-meta``: ``examples/llama_7b_meta.py`` (a Llama-7B-sized model on ``meta``, LoRA on every attention);
- ``real-weights``: a 1.1B-parameter Llama-shaped checkpoint with random ``bfloat16`` weights (written once to a
  temporary folder), loaded with ``from_pretrained``, then PEFT's LoRA on ``q_proj``/``v_proj``.

Targets (issue "the codemod's cost"): wall time at most 1.10x the script's, peak RSS at most 1.05x. Then the
codemod's own CPU time (command minus script) of ``llama-meta`` at 8 and 80 layers, to be at most 0.5 s apart;
and with ``--many-classes``, the cost of each additional generated class (a different LoRA rank in every layer
of a tiny Llama: three generated classes per layer, 16 against 64 layers), to be at most 10 ms. Every process's
peak memory is its maximum resident set size (``os.wait4``), which also gives its CPU time (user + system). Run on
a quiet machine (nothing else running):

    python benchmarks/bench_declaration.py [--repeats 3] [--python .venv-4.57/bin/python]
    python benchmarks/bench_declaration.py --many-classes
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SEED_EXAMPLE = "examples/roberta_word_embeddings.py"
LLAMA_EXAMPLE = "examples/llama_7b_meta.py"
TIME_RATIO_TARGET = 1.10
MEMORY_RATIO_TARGET = 1.05
LINEAR_LAYERS = (8, 80)
LINEAR_SECONDS_TARGET = 0.5
MANY_CLASSES_LAYERS = (16, 64)
PER_CLASS_MILLISECONDS_TARGET = 10.0
REAL_WEIGHTS_CONFIG = dict(
    vocab_size=32000,
    hidden_size=2048,
    intermediate_size=5632,
    num_hidden_layers=22,
    num_attention_heads=32,
    num_key_value_heads=4,
    max_position_embeddings=2048,
)
"""TinyLlama-1.1B's shape: about 1.1 billion parameters."""
WRITE_CHECKPOINT = """
import sys

import torch
from transformers import LlamaConfig, LlamaForCausalLM

torch.manual_seed(0)
with torch.device("cpu"):
    model = LlamaForCausalLM(LlamaConfig(**{config})).to(torch.bfloat16)
model.save_pretrained(sys.argv[1])
"""
REAL_WEIGHTS_SCRIPT = """
import sys

import torch
from peft import LoraConfig, get_peft_model
from transformers import LlamaForCausalLM

model = LlamaForCausalLM.from_pretrained(sys.argv[1], dtype=torch.bfloat16)
peft_model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"]))
"""
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


def run_once(command: list[str]) -> tuple[float, float, float]:
    """Wall time (s), CPU time (s) and peak RSS (MB) of one run of ``command``; fails loudly when it fails.

    Python writes bytecode as it does by default (and as ``pip install`` compiles it): a machine that sets
    ``PYTHONDONTWRITEBYTECODE`` would have every run of the codemod compile its own modules from source, which
    no installed copy does.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
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


def measure_pairs(script: list[str], codemod: list[str], repeats: int) -> list[tuple[tuple, tuple]]:
    """``repeats`` pairs of runs (script, then the codemod on it), one after the other, after one pair not
    measured (it writes the bytecode and warms the file cache)."""
    run_once(script)
    run_once(codemod)
    return [(run_once(script), run_once(codemod)) for _ in range(repeats)]


def ratios(pairs: list[tuple[tuple, tuple]]) -> tuple[float, float, float, float]:
    """Median wall time ratio, peak RSS ratio, and the median wall times of script and codemod."""
    wall = statistics.median(codemod[0] / script[0] for script, codemod in pairs)
    memory = statistics.median(codemod[2] / script[2] for script, codemod in pairs)
    return wall, memory, statistics.median(p[0][0] for p in pairs), statistics.median(p[1][0] for p in pairs)


def own_cpu(pairs: list[tuple[tuple, tuple]]) -> float:
    """The codemod's own CPU time: the command's minus the script's, median over the pairs."""
    return statistics.median(codemod[1] - script[1] for script, codemod in pairs)


def verdict(ok: bool) -> str:
    return "ok" if ok else "OVER TARGET"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats", type=int, default=3, help="pairs of runs per workload (medians reported)"
    )
    parser.add_argument("--python", default=sys.executable, help="interpreter to benchmark with")
    parser.add_argument(
        "--many-classes",
        action="store_true",
        help="only the cost per generated class (a LoRA rank per layer)",
    )
    parser.add_argument("--only", help="comma-separated workloads: seed, llama-meta, real-weights, layers")
    args = parser.parse_args()
    python = args.python
    if args.many_classes:
        many_classes(python, args.repeats)
        return
    only = set(args.only.split(",")) if args.only else {"seed", "llama-meta", "real-weights", "layers"}
    version = subprocess.run(
        [python, "-c", "import transformers; print(transformers.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(f"transformers {version}, {args.repeats} alternating pairs per workload")
    with tempfile.TemporaryDirectory() as scratch:
        output = str(Path(scratch) / "declared.py")
        codemod = [python, "-m", "archit_codemod", "-o", output]
        workloads: dict[str, list[str]] = {}
        if "seed" in only:
            workloads["seed"] = [SEED_EXAMPLE, "--size", "base"]
        if "llama-meta" in only:
            workloads["llama-meta"] = [LLAMA_EXAMPLE]
        if "real-weights" in only:
            checkpoint = Path(scratch) / "llama-1.1b"
            writer = Path(scratch) / "write_checkpoint.py"
            writer.write_text(WRITE_CHECKPOINT.format(config=REAL_WEIGHTS_CONFIG))
            run_once([python, str(writer), str(checkpoint)])
            script = Path(scratch) / "lora_on_real_weights.py"
            script.write_text(REAL_WEIGHTS_SCRIPT)
            workloads["real-weights"] = [str(script), str(checkpoint)]
        print(
            f"\n  {'workload':<14}  {'script s':>8}  {'command s':>9}  {'wall':>6}  {'peak RSS':>8}  target"
        )
        for name, arguments in workloads.items():
            wall, memory, script_s, command_s = ratios(
                measure_pairs([python, *arguments], [*codemod, *arguments], args.repeats)
            )
            ok = wall <= TIME_RATIO_TARGET and memory <= MEMORY_RATIO_TARGET
            print(
                f"  {name:<14}  {script_s:>8.2f}  {command_s:>9.2f}  {wall:>5.2f}x  {memory:>7.2f}x  "
                f"<= {TIME_RATIO_TARGET}x, {MEMORY_RATIO_TARGET}x: {verdict(ok)}"
            )
        if "layers" in only:
            own = {
                layers: own_cpu(
                    measure_pairs(
                        [python, LLAMA_EXAMPLE, "--layers", str(layers)],
                        [*codemod, LLAMA_EXAMPLE, "--layers", str(layers)],
                        args.repeats,
                    )
                )
                for layers in LINEAR_LAYERS
            }
            low, high = (own[layers] for layers in LINEAR_LAYERS)
            print(
                f"\n  the codemod's own CPU time on {LLAMA_EXAMPLE}: {LINEAR_LAYERS[0]} layers {low:.2f} s, "
                f"{LINEAR_LAYERS[1]} layers {high:.2f} s: {high - low:.2f} s apart "
                f"(target <= {LINEAR_SECONDS_TARGET} s: {verdict(high - low <= LINEAR_SECONDS_TARGET)})"
            )


def many_classes(python: str, repeats: int) -> None:
    """The codemod's own time per additional generated class, with three generated classes per layer."""
    own = {}
    with tempfile.TemporaryDirectory() as scratch:
        for layers in MANY_CLASSES_LAYERS:
            script = Path(scratch) / f"rank_per_layer_{layers}.py"
            script.write_text(RANK_PER_LAYER_SCRIPT.format(layers=layers))
            output = str(Path(scratch) / f"declared_{layers}.py")
            pairs = measure_pairs(
                [python, str(script)], [python, "-m", "archit_codemod", "-o", output, str(script)], repeats
            )
            own[layers] = own_cpu(pairs)
    classes = {layers: 3 * layers + 2 for layers in MANY_CLASSES_LAYERS}  # attention, MLP, layer; model, root
    few, many = MANY_CLASSES_LAYERS
    per_class = 1000 * (own[many] - own[few]) / (classes[many] - classes[few])
    for layers in MANY_CLASSES_LAYERS:
        print(
            f"  {layers} layers ({classes[layers]} generated classes): the codemod's own CPU time {own[layers]:.2f} s"
        )
    print(
        f"  each additional generated class: {per_class:.1f} ms "
        f"(target <= {PER_CLASS_MILLISECONDS_TARGET:.0f} ms: {verdict(per_class <= PER_CLASS_MILLISECONDS_TARGET)})"
    )


if __name__ == "__main__":
    main()
