"""Sweep the codemod over every architecture of the installed transformers.

For each class named in transformers' masked-LM, causal-LM and base-model auto mappings, a generated
modification script builds the model from its default config on the ``meta`` device, wraps the query
linear of every attention module with a LoRA-style wrapper defined in the script, and replaces the input
embedding module with a module defined in the script. The codemod then traces that script, generates
the subclasses, verifies them, and this sweep checks the result once more on its own: it imports the
generated module, builds the root class on ``meta`` and compares module tree, class names, parameter
and buffer shapes and weight tying with the traced model.

Usage (from the repository root)::

    .venv/bin/python benchmarks/sweep_architectures.py --out sweep.md
    .venv/bin/python benchmarks/sweep_architectures.py --only bert,roberta --timeout 60
    .venv/bin/python benchmarks/sweep_architectures.py --limit 40 --jobs 2

``--only`` takes model types (``bert``) or class names (``BertForMaskedLM``).

Results: ``pass``; ``codemod-fail`` (the model builds and the script runs, but tracing, generation,
verification or the independent check fails — the codemod's fault, unless it refused with a
:class:`DeclarationError`, which the table marks as a refusal); ``does-not-build`` (no default config,
the class is not exported, or it cannot be built on ``meta``: the model's limit, not the codemod's);
``not-applicable`` (the model builds but has nothing this script knows how to modify: no query linear
and no ``nn.Embedding`` input embedding; left out of the pass rates); ``script-error`` (the script's
modification raises, e.g. ``get_input_embeddings``/``set_input_embeddings``); ``timeout``/``crash`` (the worker process
running the architecture hung or died: counted against the codemod, since the plain script is fast).

Each architecture runs in a long-lived worker subprocess (so one crash or hang costs one architecture,
not the sweep, and imports are paid once per worker); workers are recycled every ``--recycle``
architectures to bound memory.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from pathlib import Path

# The modification script the codemod runs, once per architecture, as
# `modify_architecture.py MODEL_TYPE CLASS_NAME`. Kept as text so the sweep writes it next to its
# outputs and a failure can be reproduced with the command line alone.
MODIFICATION_SCRIPT = '''\
"""Sweep modification: LoRA on every attention query linear, and a new input embedding module."""

import re
import sys

import torch
import transformers
from torch import nn
from transformers import AutoConfig

# Child names of attention modules that hold the query (or fused query/key/value) projection.
QUERY_NAME = re.compile(
    r"w?q|query|(q|query|qkv)_(proj|lin|linear)|to_q|q_a_proj|w?qkv|query_key_value|c_attn|in_proj",
    re.IGNORECASE,
)
ATTENTION_NAME = re.compile(r"attention|attn", re.IGNORECASE)


class LoRALinear(nn.Module):
    """A linear layer plus a trainable low-rank update, as LoRA adds it."""

    def __init__(self, base: nn.Linear, r: int = 4, alpha: float = 8.0):
        super().__init__()
        self.base = base
        self.lora_a = nn.Linear(base.in_features, r, bias=False)
        self.lora_b = nn.Linear(r, base.out_features, bias=False)
        self.scaling = alpha / r

    def forward(self, x):
        return self.base(x) + self.lora_b(self.lora_a(x)) * self.scaling


class ScaledEmbedding(nn.Module):
    """An embedding matrix whose output is scaled; keeps the name `weight` so weight tying still holds."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx=None, scale: float = 1.0):
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_idx
        self.scale = scale
        self.weight = nn.Parameter(torch.empty(num_embeddings, embedding_dim))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, input_ids):
        return nn.functional.embedding(input_ids, self.weight, self.padding_idx) * self.scale


def build(model_type: str, class_name: str) -> nn.Module:
    model_class = getattr(transformers, class_name)
    config = AutoConfig.for_model(model_type)
    if not isinstance(config, model_class.config_class):
        # A class of a composite model (MusicgenForCausalLM) takes its own sub-config, not the model type's.
        config = model_class.config_class()
    with torch.device("meta"):
        return model_class(config)


def query_linears(model: nn.Module):
    """(owner, child name, child) for the first query-like nn.Linear child of each attention module."""
    found = []
    for name, module in list(model.named_modules()):
        own_name = name.rsplit(".", 1)[-1]
        if not (ATTENTION_NAME.search(type(module).__name__) or ATTENTION_NAME.search(own_name)):
            continue
        for child_name, child in module.named_children():
            if isinstance(child, nn.Linear) and QUERY_NAME.fullmatch(child_name):
                found.append((module, child_name, child))
                break
    return found


def modify(model: nn.Module) -> list[str]:
    """Apply the sweep's modifications; return what was done (a list of short notes)."""
    done = []
    wrapped = 0
    for owner, child_name, child in query_linears(model):
        setattr(owner, child_name, LoRALinear(child, r=4, alpha=8.0))
        wrapped += 1
    if wrapped:
        done.append(f"lora x{wrapped}")
    try:
        old = model.get_input_embeddings()
    except (NotImplementedError, AttributeError) as error:
        old = None
        done.append(f"no input embedding ({type(error).__name__})")
    if isinstance(old, nn.Embedding):
        model.set_input_embeddings(
            ScaledEmbedding(old.num_embeddings, old.embedding_dim, padding_idx=old.padding_idx, scale=1.0)
        )
        # As resize_token_embeddings does: an output layer tied to the old matrix follows the new one.
        model.tie_weights()
        done.append("embedding replaced")
    elif old is not None:
        done.append(f"input embedding is {type(old).__name__}, not nn.Embedding")
    if not wrapped and "embedding replaced" not in done:
        raise RuntimeError("nothing to modify: " + ("; ".join(done) or "no query linear in any attention"))
    return done


if __name__ == "__main__":
    model = build(sys.argv[1], sys.argv[2])
    # The replacements too are built on meta: a default config can be tens of GB.
    with torch.device("meta"):
        notes = modify(model)
'''

RESULTS = (
    "pass",
    "codemod-fail",
    "does-not-build",
    "not-applicable",
    "script-error",
    "timeout",
    "crash",
    "not-run",
)
SUFFIX = "Modified"


@dataclasses.dataclass
class Architecture:
    class_name: str
    model_type: str
    mappings: tuple[str, ...]
    other_model_types: tuple[str, ...] = ()


@dataclasses.dataclass
class Outcome:
    architecture: str
    model_type: str
    result: str
    stage: str = ""
    reason: str = ""
    seconds: float = 0.0

    @property
    def fault(self) -> str:
        """Whose fault a non-pass is: the codemod's, the model's, or this sweep's modification script."""
        if self.result in ("codemod-fail", "timeout", "crash"):
            return "codemod (refused)" if self.stage == "refused" else "codemod"
        if self.result == "does-not-build":
            return "model"
        if self.result == "script-error":
            return "script/model"
        return ""


def architectures() -> list[Architecture]:
    """Every class of the masked-LM, causal-LM and base-model auto mappings, once, in mapping order."""
    from transformers.models.auto import modeling_auto

    model_types: dict[str, list[str]] = {}
    mappings: dict[str, list[str]] = {}
    for mapping_name in (
        "MODEL_FOR_MASKED_LM_MAPPING_NAMES",
        "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES",
        "MODEL_MAPPING_NAMES",
    ):
        short = mapping_name.removeprefix("MODEL_").removesuffix("_MAPPING_NAMES").lower() or "base"
        for model_type, class_names in getattr(modeling_auto, mapping_name).items():
            for class_name in (class_names,) if isinstance(class_names, str) else class_names:
                model_types.setdefault(class_name, []).append(model_type)
                if short not in mappings.setdefault(class_name, []):
                    mappings[class_name].append(short)
    found = []
    for name, types in model_types.items():
        own = own_model_type(name, types)
        others = tuple(t for t in types if t != own)
        found.append(Architecture(name, own, tuple(mappings[name]), others))
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
# Worker: runs architectures one at a time, reading requests from stdin, answering on a private pipe.


def one_line(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}".strip()
    first = text.splitlines()[0] if text else type(error).__name__
    return first[:300]


def compare_trees(traced, rebuilt) -> str | None:
    """The first difference between two module trees, or ``None``: paths, classes, shapes, tying."""
    # Every path, also those of a module reachable under several names (BART's shared embeddings): a
    # declaration that makes them separate modules is still right when their weights are tied, which the
    # parameter check below sees.
    traced_modules = dict(traced.named_modules(remove_duplicate=False))
    rebuilt_modules = dict(rebuilt.named_modules(remove_duplicate=False))
    if traced_modules.keys() != rebuilt_modules.keys():
        only_traced = sorted(traced_modules.keys() - rebuilt_modules.keys())[:3]
        only_rebuilt = sorted(rebuilt_modules.keys() - traced_modules.keys())[:3]
        return f"module paths differ: only traced {only_traced}, only rebuilt {only_rebuilt}"
    for path, module in traced_modules.items():
        traced_type, rebuilt_type = type(module), type(rebuilt_modules[path])
        # Same class (or a copy of a script class, same name), or a generated subclass of it
        # (``<Name><Suffix>``, ``<Name><Suffix>2`` for a second variant).
        if rebuilt_type.__name__ == traced_type.__name__:
            continue
        if issubclass(rebuilt_type, traced_type) and rebuilt_type.__name__.startswith(
            traced_type.__name__ + SUFFIX
        ):
            continue
        traced_name = traced_type.__name__
        return f"{path or '<root>'}: traced {traced_name}, rebuilt {rebuilt_type.__name__}"
    traced_state = {k: tuple(v.shape) for k, v in traced.state_dict().items()}
    rebuilt_state = {k: tuple(v.shape) for k, v in rebuilt.state_dict().items()}
    if traced_state != rebuilt_state:
        differing = sorted(
            k
            for k in traced_state.keys() | rebuilt_state.keys()
            if traced_state.get(k) != rebuilt_state.get(k)
        )
        return f"state_dict differs at {differing[:3]}"
    traced_buffers = {k: tuple(v.shape) for k, v in traced.named_buffers()}
    rebuilt_buffers = {k: tuple(v.shape) for k, v in rebuilt.named_buffers()}
    if traced_buffers != rebuilt_buffers:
        return f"buffers differ: {sorted(traced_buffers.keys() ^ rebuilt_buffers.keys())[:3]}"
    # named_parameters() lists a tied parameter once: equal name sets mean equal tying.
    traced_unique = {name for name, _ in traced.named_parameters()}
    rebuilt_unique = {name for name, _ in rebuilt.named_parameters()}
    if traced_unique != rebuilt_unique:
        return f"weight tying differs: {sorted(traced_unique ^ rebuilt_unique)[:3]}"
    return None


def import_generated(source: str, directory: Path, name: str):
    """Import generated source on its own, as a file, the way a user would."""
    import importlib.util

    path = directory / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module


def codemod_api():
    """The codemod's entry points, or ``None`` while they are not importable."""
    try:
        from archit_codemod.declaration import api, errors, roots, tracer
    except ImportError:
        return None
    return api, errors, roots, tracer


def check_architecture(request: dict, script: Path, workdir: Path) -> dict:
    """Run one architecture through build, modification, codemod, verification and the independent check."""
    import runpy

    import torch

    class_name = request["class_name"]
    plain = runpy.run_path(str(script), run_name="sweep_plain")
    # A class shared by several model types builds from the config of one of them (Llama4ForCausalLM
    # from llama4_text's): try each, keep the first that builds.
    chosen = {"model_type": request["model_types"][0]}
    failures = []
    for model_type in request["model_types"]:
        try:
            model = plain["build"](model_type, class_name)
            chosen["model_type"] = model_type
            break
        except Exception as error:  # noqa: BLE001 - any failure to build is the model's limit
            failures.append(one_line(error))
    else:
        return {**chosen, "result": "does-not-build", "stage": "build", "reason": failures[0]}
    try:
        with torch.device("meta"):
            notes = plain["modify"](model)
    except Exception as error:  # noqa: BLE001
        # No query linear and no nn.Embedding input embedding (IBert's QuantEmbedding): the standard
        # modification does not apply to this model, which says nothing about the codemod or the model.
        applicable = not (isinstance(error, RuntimeError) and str(error).startswith("nothing to modify"))
        result = "script-error" if applicable else "not-applicable"
        return {**chosen, "result": result, "stage": "modify", "reason": one_line(error)}
    del model
    api = codemod_api()
    if api is None:
        return {
            **chosen,
            "result": "not-run",
            "stage": "import",
            "reason": "codemod API not importable; " + ", ".join(notes),
        }
    api, errors, roots_module, tracer = api

    stage = "trace"
    try:
        trace = tracer.run_script(script, [model_type, class_name])
        stage = "roots"
        roots = roots_module.find_roots(trace, "model")
        stage = "generate"
        generated = api.generate(trace, roots, suffix=SUFFIX)
        stage = "verify"
        api.verify(generated, trace, roots)
        stage = "independent-check"
        module = import_generated(generated.source, workdir, f"generated_{class_name}")
        traced_model = trace.namespace["model"]
        root_class = getattr(module, generated.root_classes.get("model", ""), None)
        if root_class is None:
            reason = f"root_classes {generated.root_classes} names no class of the output"
            return {**chosen, "result": "codemod-fail", "stage": stage, "reason": reason}
        with torch.device("meta"):
            rebuilt = root_class(traced_model.config)
        difference = compare_trees(traced_model, rebuilt)
        if difference:
            return {**chosen, "result": "codemod-fail", "stage": stage, "reason": difference}
    except errors.DeclarationError as error:
        return {**chosen, "result": "codemod-fail", "stage": "refused", "reason": one_line(error)}
    except Exception as error:  # noqa: BLE001 - every other failure past the plain run is the codemod's
        frames = traceback.extract_tb(error.__traceback__)
        where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
        return {**chosen, "result": "codemod-fail", "stage": stage, "reason": one_line(error) + where}
    return {**chosen, "result": "pass", "stage": "", "reason": ", ".join(notes)}


def worker_main(workdir: Path, memory_limit_gb: float) -> None:
    """Serve requests (one JSON line each on stdin) until stdin closes; answer on the original stdout."""
    import resource

    # Something that allocates real weights for a default-sized config (tens of GB) must fail here with a
    # MemoryError, not wake the kernel's OOM killer on a shared machine.
    limit = int(memory_limit_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever the script or transformers print must not corrupt the answers
    sys.stdout = sys.stderr
    script = workdir / "modify_architecture.py"
    for line in sys.stdin:
        request = json.loads(line)
        started = time.perf_counter()
        try:
            answer = check_architecture(request, script, workdir)
        except (Exception, MemoryError) as error:  # noqa: BLE001 - report, never die on one architecture
            answer = {
                "model_type": request["model_types"][0],
                "result": "crash",
                "stage": "worker",
                "reason": one_line(error),
            }
        answer["seconds"] = round(time.perf_counter() - started, 2)
        answers.write(json.dumps(answer) + "\n")


# --------------------------------------------------------------------------------------------------
# Parent: hands architectures to workers, enforces the timeout, prints the table.


def worker_environment() -> dict[str, str]:
    """The parent's environment, with this checkout first on the path (it need not be installed)."""
    repository = str(Path(__file__).resolve().parent.parent)
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": repository + (os.pathsep + path if path else "")}


class Worker:
    """One worker subprocess; restarted after a timeout, a crash, or ``recycle`` architectures."""

    def __init__(self, workdir: Path, log, recycle: int, memory_limit_gb: float):
        self.workdir, self.log, self.recycle, self.memory_limit_gb = workdir, log, recycle, memory_limit_gb
        self.process: subprocess.Popen | None = None
        self.answers: queue.Queue = queue.Queue()
        self.served = 0

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--worker",
                str(self.workdir),
                "--memory-limit",
                str(self.memory_limit_gb),
            ],
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

    def run(self, architecture: Architecture, timeout: float) -> Outcome:
        if self.process is None or self.served >= self.recycle:
            self.stop()
            self.start()
        self.served += 1
        request = {
            "class_name": architecture.class_name,
            "model_types": [architecture.model_type, *architecture.other_model_types],
        }
        started = time.perf_counter()
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            answer = self.answers.get(timeout=timeout)
        except queue.Empty:
            self.stop()
            return Outcome(
                architecture.class_name,
                architecture.model_type,
                "timeout",
                "",
                f"no answer within {timeout:.0f} s",
                timeout,
            )
        except BrokenPipeError:
            answer = None
        if answer is None:
            code = self.process.wait()
            self.process = None
            return Outcome(
                architecture.class_name,
                architecture.model_type,
                "crash",
                "",
                f"worker exited with code {code}",
                time.perf_counter() - started,
            )
        return Outcome(architecture.class_name, **answer)


def select(all_architectures: list[Architecture], only: str | None, limit: int | None) -> list[Architecture]:
    chosen = all_architectures
    if only:
        wanted = {name.strip().lower() for name in only.split(",") if name.strip()}
        chosen = [a for a in chosen if a.model_type.lower() in wanted or a.class_name.lower() in wanted]
    return chosen[:limit] if limit else chosen


def render_table(outcomes: list[Outcome]) -> str:
    rows = [("architecture", "model_type", "result", "fault", "stage", "seconds", "reason")]
    rows += [
        (o.architecture, o.model_type, o.result, o.fault, o.stage, f"{o.seconds:.1f}", o.reason)
        for o in outcomes
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for index, row in enumerate(rows):
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)] + [row[-1]]
        lines.append("| " + " | ".join(cells) + " |")
        if index == 0:
            lines.append("|" + "|".join("-" * (width + 2) for width in widths) + "|---|")
    return "\n".join(lines)


def summarise(outcomes: list[Outcome], elapsed: float) -> str:
    import torch
    import transformers

    counts = Counter(o.result for o in outcomes)
    # An architecture the standard modification does not apply to is not a run of the codemod at all.
    built = [o for o in outcomes if o.result not in ("does-not-build", "not-applicable")]
    runnable = [o for o in built if o.result not in ("script-error", "not-run")]
    passed = counts["pass"]
    lines = [
        f"transformers {transformers.__version__}, torch {torch.__version__}: {len(outcomes)} architectures in {elapsed:.0f} s",
        "results: " + ", ".join(f"{name} {counts[name]}" for name in RESULTS if counts[name]),
    ]
    if built:
        lines.append(
            f"pass rate over the {len(built)} architectures that build: {passed}/{len(built)} = {passed / len(built):.1%}"
        )
    if runnable:
        lines.append(
            f"pass rate over the {len(runnable)} that build and that the script can modify: "
            f"{passed}/{len(runnable)} = {passed / len(runnable):.1%}"
        )
    codemod_faults = Counter(o.stage or o.result for o in outcomes if o.fault.startswith("codemod"))
    if codemod_faults:
        lines.append(
            "codemod failures by stage: " + ", ".join(f"{k} {v}" for k, v in codemod_faults.most_common())
        )
    reasons = Counter(o.reason.split(":")[0] for o in outcomes if o.result == "does-not-build")
    if reasons:
        lines.append("does-not-build reasons: " + ", ".join(f"{k} {v}" for k, v in reasons.most_common(6)))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated model types or class names, e.g. bert,roberta")
    parser.add_argument("--limit", type=int, help="run only the first N selected architectures")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per architecture (default 120)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes in parallel (default 1)")
    parser.add_argument(
        "--recycle", type=int, default=40, help="restart a worker after N architectures (default 40)"
    )
    parser.add_argument(
        "--memory-limit", type=float, default=8.0, help="address-space limit of each worker in GB (default 8)"
    )
    parser.add_argument("--out", type=Path, help="also write the table and the summary to this file")
    parser.add_argument(
        "--keep", type=Path, help="folder for the script, generated files and worker log (default: temporary)"
    )
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        worker_main(args.worker, args.memory_limit)
        return 0

    chosen = select(architectures(), args.only, args.limit)
    if not chosen:
        parser.error(f"no architecture matches --only {args.only!r}")
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="archit_sweep_"))
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "modify_architecture.py").write_text(MODIFICATION_SCRIPT)
    print(f"{len(chosen)} architectures; script, outputs and worker log in {workdir}", file=sys.stderr)
    print(
        f"reproduce one: python -m archit_codemod {workdir / 'modify_architecture.py'} MODEL_TYPE CLASS_NAME",
        file=sys.stderr,
    )

    started = time.perf_counter()
    todo: queue.Queue = queue.Queue()
    for index, architecture in enumerate(chosen):
        todo.put((index, architecture))
    outcomes: list[Outcome | None] = [None] * len(chosen)
    lock = threading.Lock()
    workers: list[Worker] = []

    def serve(log) -> None:
        worker = Worker(workdir, log, args.recycle, args.memory_limit)
        workers.append(worker)
        try:
            while True:
                try:
                    index, architecture = todo.get_nowait()
                except queue.Empty:
                    return
                outcome = worker.run(architecture, args.timeout)
                outcomes[index] = outcome
                with lock:
                    done = sum(o is not None for o in outcomes)
                    print(
                        f"[{done}/{len(chosen)}] {outcome.architecture}: {outcome.result} {outcome.reason[:100]}",
                        file=sys.stderr,
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
            print("interrupted; the table lists the architectures done so far", file=sys.stderr)
    outcomes = [outcome for outcome in outcomes if outcome is not None]

    report = render_table(outcomes) + "\n\n" + summarise(outcomes, time.perf_counter() - started) + "\n"
    print(report)
    if args.out:
        args.out.write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
