"""The zoo: every common kind of change, on every architecture of transformers' task mappings, in both modes.

Architectures: every class of the causal-LM, masked-LM, seq2seq-LM, sequence- and token-classification,
image-classification, speech-seq2seq, audio-classification and base-model (``AutoModel``) mappings, built
from its default config on ``meta``. Kinds: one modification script each in ``benchmarks/zoo/``, written as
a user would (``lora``: a LoRA-style wrapper on every attention query or fused qkv projection; ``truncate``:
the first half of each layer stack, config updated; ``norms``: every LayerNorm by an RMS norm of the script
and every RMS norm by a LayerNorm of the script; ``head``: the task head's output projection by a two-layer
MLP of the script; ``embedding``: the input embedding by a factorised one of the script). Modes: subclass
and vendor (on ``meta`` nothing can be saved, so vendor runs without ``--save-pretrained``).

Usage (from the repository root)::

    .venv/bin/python benchmarks/sweep_architectures.py --out out/sweep/sweep.md
    .venv/bin/python benchmarks/sweep_architectures.py --limit 3 --kinds lora,head --modes subclass
    .venv/bin/python benchmarks/sweep_architectures.py --only bert,LlamaForCausalLM --jobs 2

    .venv/bin/python benchmarks/sweep_architectures.py --shard 2/8 --results out/sweep/shard-2-of-8.jsonl
    .venv/bin/python benchmarks/sweep_architectures.py --merge out/sweep/shard-*-of-8.jsonl --out docs/sweep/merged-of-8.md

``--only`` takes model types (``bert``) or class names; ``--limit N`` takes N architectures of each
mapping, evenly spaced in the mapping's order (a reproducible sample). ``--shard I/N`` takes every N-th of
those from the I-th on, so that the whole sweep, longer than one sitting, runs in N pieces; ``--results FILE``
appends each finished row's cells to FILE as it finishes (a run stopped half-way leaves its rows, and the same
command continues it), and ``--merge`` reports several such files as one table, saying which shards it holds. Reproduce one cell with
``python -m archit_codemod [--mode vendor -o FOLDER] benchmarks/zoo/KIND.py MODEL_TYPE CLASS_NAME``.

Cells (see ``benchmarks/zoo_cells.py``): ``pass``, ``refused``, ``not-applicable``, ``does-not-build``,
``fail``, ``script-error``. Each (architecture, kind) runs in a long-lived worker subprocess, both modes from
one trace, under a timeout and an address-space limit; a hang or a crash fails that row only (``fail`` with
stage ``timeout`` or ``crash``). Workers are recycled every ``--recycle`` rows to bound memory.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from zoo_cells import KINDS, MODES, one_line  # noqa: E402
from zoo_results import Architecture, Cell, ResultsWriter, Run, merge, parse_shard, read_results, shard_of  # noqa: E402

MAPPINGS = {
    "causal_lm": "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES",
    "masked_lm": "MODEL_FOR_MASKED_LM_MAPPING_NAMES",
    "seq2seq_lm": "MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES",
    "sequence_classification": "MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES",
    "token_classification": "MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES",
    "image_classification": "MODEL_FOR_IMAGE_CLASSIFICATION_MAPPING_NAMES",
    "speech_seq2seq": "MODEL_FOR_SPEECH_SEQ_2_SEQ_MAPPING_NAMES",
    "audio_classification": "MODEL_FOR_AUDIO_CLASSIFICATION_MAPPING_NAMES",
    "base": "MODEL_MAPPING_NAMES",
}


def mapping_classes() -> dict[str, list[tuple[str, str]]]:
    """Mapping short name -> ``[(model_type, class_name), ...]`` in the mapping's order."""
    from transformers.models.auto import modeling_auto

    found: dict[str, list[tuple[str, str]]] = {}
    for short, mapping_name in MAPPINGS.items():
        entries = found[short] = []
        for model_type, class_names in getattr(modeling_auto, mapping_name, {}).items():
            for class_name in (class_names,) if isinstance(class_names, str) else class_names:
                entries.append((model_type, class_name))
    return found


def architectures(limit: int | None = None) -> list[Architecture]:
    """Every class of the mappings once (or ``limit`` per mapping, evenly spaced), in mapping order."""
    model_types: dict[str, list[str]] = {}
    mappings: dict[str, list[str]] = {}
    for short, entries in mapping_classes().items():
        for model_type, class_name in entries:
            model_types.setdefault(class_name, []).append(model_type)
            if short not in mappings.setdefault(class_name, []):
                mappings[class_name].append(short)
        if limit:
            chosen = {entries[(i * len(entries)) // limit][1] for i in range(min(limit, len(entries)))}
            for _, class_name in entries:
                if class_name in chosen:
                    mappings[class_name].append(f"sample:{short}")
    found = []
    for name, types in model_types.items():
        if limit and not any(m.startswith("sample:") for m in mappings[name]):
            continue
        own = own_model_type(name, types)
        plain = tuple(m for m in mappings[name] if not m.startswith("sample:"))
        found.append(Architecture(name, own, plain, tuple(dict.fromkeys(t for t in types if t != own))))
    return found


def own_model_type(class_name: str, model_types: list[str]) -> str:
    """The model type a class belongs to, when several share it (``code_llama`` reuses ``LlamaForCausalLM``).

    That is the one whose config class is named like the model class (``LlamaConfig``), preferring a
    model type that the class name spells; failing that, the first listed.
    """
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    def score(model_type: str) -> tuple[int, bool]:
        config_name = CONFIG_MAPPING_NAMES.get(model_type, "").removesuffix("Config")
        shared = os.path.commonprefix([config_name, class_name])
        return (
            len(shared) if shared == config_name else 0,
            model_type.replace("-", "_") in class_name.lower(),
        )

    return max(model_types, key=score) if len(model_types) > 1 else model_types[0]


# --------------------------------------------------------------------------------------------------
# Worker: runs (architecture, kind) rows one at a time, reading requests from stdin.


def worker_main(memory_limit_gb: float) -> None:
    """Serve requests (one JSON line each on stdin) until stdin closes; answer on the original stdout."""
    import resource

    from zoo_cells import run_kind

    # Something that allocates real weights for a default-sized config (tens of GB) must fail here with a
    # MemoryError, not wake the kernel's OOM killer on a shared machine.
    limit = int(memory_limit_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever the script or transformers print must not corrupt the answers
    sys.stdout = sys.stderr
    for line in sys.stdin:
        request = json.loads(line)
        started = time.perf_counter()
        try:
            cells = run_kind(
                request["model_types"], request["class_name"], request["kind"], tuple(request["modes"])
            )
        except (Exception, MemoryError) as error:  # noqa: BLE001 - report, never die on one row
            reason = one_line(error)
            cells = [
                {
                    "model_type": request["model_types"][0],
                    "kind": request["kind"],
                    "mode": mode,
                    "result": "fail",
                    "stage": "worker",
                    "reason": reason,
                }
                for mode in request["modes"]
            ]
        seconds = round((time.perf_counter() - started) / max(1, len(cells)), 2)
        answers.write(json.dumps([{**cell, "seconds": seconds} for cell in cells]) + "\n")


# --------------------------------------------------------------------------------------------------
# Parent: hands rows to workers, enforces the timeout, prints the report.


def worker_environment() -> dict[str, str]:
    """The parent's environment, with this checkout first on the path (it need not be installed)."""
    repository = str(Path(__file__).resolve().parent.parent)
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": repository + (os.pathsep + path if path else "")}


class Worker:
    """One worker subprocess; restarted after a timeout, a crash, or ``recycle`` rows."""

    def __init__(self, workdir: Path, log, recycle: int, memory_limit_gb: float):
        self.workdir, self.log, self.recycle, self.memory_limit_gb = workdir, log, recycle, memory_limit_gb
        self.process: subprocess.Popen | None = None
        self.answers: queue.Queue = queue.Queue()
        self.served = 0

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--worker", "--memory-limit", str(self.memory_limit_gb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            cwd=self.workdir,
            env=worker_environment(),
        )
        self.answers = queue.Queue()
        self.served = 0
        threading.Thread(target=self._read, args=(self.process, self.answers), daemon=True).start()

    @staticmethod
    def _read(process: subprocess.Popen, answers: queue.Queue) -> None:
        for line in process.stdout:
            answers.put(json.loads(line))
        answers.put(None)  # end of stream: the worker died

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            process.kill()
            process.wait()

    def run(
        self, architecture: Architecture, kind: str, modes: tuple[str, ...], timeout: float
    ) -> list[Cell]:
        if self.process is None or self.served >= self.recycle:
            self.stop()
            self.start()
        self.served += 1
        model_types = [architecture.model_type, *architecture.other_model_types]
        request = {
            "class_name": architecture.class_name,
            "model_types": model_types,
            "kind": kind,
            "modes": modes,
        }
        started = time.perf_counter()
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            answer = self.answers.get(timeout=timeout)
        except queue.Empty:
            self.stop()
            answer, stage, reason = None, "timeout", f"no answer within {timeout:.0f} s"
        except BrokenPipeError:
            answer, stage, reason = None, "crash", "the worker's pipe closed"
        else:
            if answer is None:
                code = self.process.wait()
                self.process = None
                stage, reason = "crash", f"worker exited with code {code}"
        if answer is None:
            seconds = time.perf_counter() - started
            return [
                Cell(
                    architecture.class_name,
                    architecture.model_type,
                    kind,
                    mode,
                    "fail",
                    stage,
                    reason,
                    seconds,
                )
                for mode in modes
            ]
        return [Cell(architecture.class_name, **cell) for cell in answer]


def select(all_architectures: list[Architecture], only: str | None) -> list[Architecture]:
    if not only:
        return all_architectures
    wanted = {name.strip().lower() for name in only.split(",") if name.strip()}
    return [a for a in all_architectures if a.model_type.lower() in wanted or a.class_name.lower() in wanted]


def run_rows(
    rows: list[tuple[Architecture, str]], modes: tuple[str, ...], args, workdir: Path, on_row=None
) -> list[Cell]:
    """Run every (architecture, kind) row on ``args.jobs`` workers; the cells done (all, unless interrupted).

    ``on_row(cells)`` is called with each row's cells as it finishes, one row at a time.
    """
    todo: queue.Queue = queue.Queue()
    for index, row in enumerate(rows):
        todo.put((index, row))
    done: list[list[Cell] | None] = [None] * len(rows)
    lock = threading.Lock()
    workers: list[Worker] = []

    def serve(log) -> None:
        worker = Worker(workdir, log, args.recycle, args.memory_limit)
        workers.append(worker)
        try:
            while True:
                try:
                    index, (architecture, kind) = todo.get_nowait()
                except queue.Empty:
                    return
                cells = worker.run(architecture, kind, modes, args.timeout)
                done[index] = cells
                with lock:
                    if on_row is not None:
                        on_row(cells)
                    count = sum(d is not None for d in done)
                    results = " ".join(f"{c.mode}={c.result}" for c in cells)
                    print(
                        f"[{count}/{len(rows)}] {architecture.class_name} {kind}: {results} "
                        f"{cells[0].reason[:90]}",
                        file=sys.stderr,
                        flush=True,
                    )
        finally:
            worker.stop()

    # SIGTERM (a CI timeout, kill) ends the sweep like Ctrl-C: the workers are stopped, not orphaned.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with open(workdir / "workers.log", "w") as log:
        threads = [threading.Thread(target=serve, args=(log,), daemon=True) for _ in range(max(1, args.jobs))]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                while thread.is_alive():
                    thread.join(timeout=1.0)
        except KeyboardInterrupt:
            for worker in workers:
                worker.stop()
            print("interrupted; the report lists the rows done so far", file=sys.stderr)
    return [cell for cells in done if cells for cell in cells]


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only", help="comma-separated model types or class names, e.g. bert,LlamaForCausalLM"
    )
    parser.add_argument(
        "--limit", type=int, help="N architectures of each mapping, evenly spaced in its order"
    )
    parser.add_argument(
        "--shard", help="I/N: every N-th architecture from the I-th on (after --only and --limit), e.g. 1/8"
    )
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"comma-separated, of {','.join(KINDS)}")
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated, of {','.join(MODES)}")
    parser.add_argument(
        "--timeout", type=float, default=180.0, help="seconds per architecture and kind (180)"
    )
    parser.add_argument("--jobs", type=int, default=1, help="worker processes in parallel (default 1)")
    parser.add_argument("--recycle", type=int, default=40, help="restart a worker after N rows (default 40)")
    parser.add_argument("--memory-limit", type=float, default=8.0, help="address space per worker, GB (8)")
    parser.add_argument("--out", type=Path, help="also write the report (markdown) to this file")
    parser.add_argument(
        "--results",
        type=Path,
        help="append each finished row's cells to this JSON-lines file (a file of the same shard is continued)",
    )
    parser.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        metavar="FILE",
        help="report the union of --results files; runs nothing",
    )
    parser.add_argument("--keep", type=Path, help="folder for the worker log (default: temporary)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        args.shard = parse_shard(args.shard) if args.shard else (1, 1)
    except ValueError as error:
        parser.error(str(error))
    args.kinds = tuple(k for k in args.kinds.split(",") if k)
    args.modes = tuple(m for m in args.modes.split(",") if m)
    unknown = sorted(set(args.kinds) - set(KINDS)) + sorted(set(args.modes) - set(MODES))
    if unknown:
        parser.error(f"unknown kinds or modes {unknown}; kinds are {list(KINDS)}, modes {list(MODES)}")
    return args


def write_report(text: str, out: Path | None) -> None:
    print(text)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    if args.worker:
        worker_main(args.memory_limit)
        return 0
    from zoo_report import report

    if args.merge:
        merged = merge([read_results(path) for path in args.merge])
        write_report(
            report(merged.cells, merged.architectures, merged.kinds, merged.modes, merged.header), args.out
        )
        return 0
    import torch
    import transformers

    selected = select(architectures(args.limit), args.only)
    chosen = shard_of(selected, *args.shard)
    if not chosen:
        print(f"no architecture matches --only {args.only!r} and --shard", file=sys.stderr)
        return 2
    command = "benchmarks/sweep_architectures.py " + " ".join(argv if argv is not None else sys.argv[1:])
    versions = f"transformers {transformers.__version__}, torch {torch.__version__}"
    run = Run(args.shard, len(selected), chosen, args.kinds, args.modes, versions, command.strip())
    writer = ResultsWriter(args.results, run) if args.results else None
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="archit_zoo_"))
    workdir.mkdir(parents=True, exist_ok=True)
    done = writer.done if writer else set()
    rows = [(a, kind) for a in chosen for kind in args.kinds if (a.class_name, kind) not in done]
    print(
        f"{len(chosen)} architectures x {len(args.kinds)} kinds x {len(args.modes)} modes "
        f"({len(rows)} rows to run, {len(done)} done before); log in {workdir}",
        file=sys.stderr,
    )
    started = time.perf_counter()
    cells = run_rows(rows, args.modes, args, workdir, writer.write if writer else None)
    if writer:
        merged = merge([read_results(args.results)])
        write_report(
            report(merged.cells, merged.architectures, merged.kinds, merged.modes, merged.header), args.out
        )
        return 0
    header = (
        f"{versions}: {len(chosen)} architectures, "
        f"{len(cells)} cells in {time.perf_counter() - started:.0f} s (`{command.strip()}`)"
    )
    write_report(report(cells, chosen, args.kinds, args.modes, header), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
