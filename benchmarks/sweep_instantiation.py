"""Sweep the instantiation half over every text architecture of the installed transformers.

The architectures are the model types of transformers' ``AutoModel`` mapping that also have a text task (causal or
masked LM, seq2seq LM, token or sequence classification, extractive QA, or text encoding), except the multimodal
ones (a vision, image, audio or speech sub-config). For each, a tiny config is derived from the default one
(:func:`tiny_config`: width 32, 2 layers, 4 heads, short feed-forward, few experts), and:

1. ``AutoModel.from_config`` must build it, or the architecture is left out of the rate (``architecture``:
   it does not build from that config);
2. ``ForSingleLabelTokenClassification`` over ``AutoBaseModel`` is built from it (``ours: build``);
3. one training step: forward with labels, finite loss, backward, an optimiser step that changes the head and the
   base model (``ours: train``);
4. ``save_pretrained`` / ``from_pretrained`` in a temporary folder, and equal logits in eval mode (``ours:
   save-load``).

A failure of 2-4 is counted as ours, unless the architecture's own model (``AutoModel``'s, or its encoder for an
encoder-decoder model) fails on the same input too (``architecture: its forward fails``). The target is a pass rate
of at least 95% of the architectures whose own ``AutoModel`` builds from the tiny config.

Usage (from the repository root)::

    .venv/bin/python benchmarks/sweep_instantiation.py --jobs 2 --out docs/sweep-instantiation.md
    .venv/bin/python benchmarks/sweep_instantiation.py --only bert,t5,llama

Each architecture runs in a long-lived worker subprocess (a crash or a hang costs one architecture; ``--timeout``
seconds each).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

TEXT_TASK_MAPPINGS = (
    "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES",
    "MODEL_FOR_MASKED_LM_MAPPING_NAMES",
    "MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES",
    "MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES",
    "MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES",
    "MODEL_FOR_QUESTION_ANSWERING_MAPPING_NAMES",
    "MODEL_FOR_TEXT_ENCODING_MAPPING_NAMES",
)
# Words that mark a model of another modality, in auto mapping names and in sub-config class names.
OTHER_MODALITIES = ("vision", "image", "audio", "speech", "video", "ctc", "spectrogram", "waveform", "multimodal",
                    "any_to_any", "depth", "detection", "segmentation", "keypoint", "time_series", "vq")  # fmt: skip

# Config attributes set by tiny_config, in groups: (value, names). A name is set only when the config has it as an
# int, so each architecture keeps its own structure (and attribute_map translates the standard names).
WIDTH, LAYERS, HEADS, KV_HEADS, HEAD_DIM, FFN = 32, 2, 4, 4, 8, 64
SIZES: tuple[tuple[int, tuple[str, ...]], ...] = (
    (WIDTH, ("hidden_size", "d_model", "n_embd", "dim", "embed_dim", "word_embed_proj_dim")),
    (16, ("embedding_size", "kv_lora_rank", "q_lora_rank")),
    (LAYERS, ("num_hidden_layers", "num_layers", "n_layer", "n_layers", "encoder_layers", "decoder_layers",
              "num_decoder_layers", "num_encoder_layers")),
    (HEADS, ("num_attention_heads", "num_heads", "n_head", "n_heads", "encoder_attention_heads",
             "decoder_attention_heads", "num_decoder_attention_heads")),
    (KV_HEADS, ("num_key_value_heads", "num_kv_heads", "n_kv_heads", "multi_query_group_num")),
    (HEAD_DIM, ("head_dim", "d_kv", "d_head", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim", "kv_channels")),
    (FFN, ("intermediate_size", "d_ff", "ffn_dim", "encoder_ffn_dim", "decoder_ffn_dim", "n_inner",
           "moe_intermediate_size", "shared_expert_intermediate_size", "ffn_hidden_size", "hidden_dim",
           "intermediate_size_mlp")),
    (4, ("num_experts", "num_local_experts", "n_routed_experts", "moe_num_experts")),
    (2, ("num_experts_per_tok", "moe_topk", "top_k", "moe_k")),
    (128, ("max_position_embeddings", "n_positions", "max_seq_len", "max_sequence_length")),
)  # fmt: skip
MAX_VOCABULARY = 4096
BATCH, LENGTH, NUM_LABELS = 2, 12, 3


# --------------------------------------------------------------------------------------------------
# Worker: one architecture at a time.


def tiny_config(model_type: str):
    """A small config of ``model_type``: its config class built with the default config's values changed by
    :func:`tiny_changes`, so that the values a config derives from others (MLA's ``qk_head_dim``, default layer
    types, ...) follow."""
    from transformers import AutoConfig

    return AutoConfig.for_model(model_type, **tiny_changes(AutoConfig.for_model(model_type)))


def tiny_changes(config) -> dict:
    """The changes that make ``config`` (and its sub-configs) tiny: the sizes of :data:`SIZES`, per-layer lists cut to
    the number of layers, vocabularies of at most :data:`MAX_VOCABULARY` entries (token ids moved below that), a
    single routing group for mixture-of-experts models, and a rotary part no wider than the heads."""
    from transformers import PretrainedConfig

    def current(name: str):
        """The int value of ``name`` that the config's constructor takes (not one its class derives, a property)."""
        if isinstance(getattr(type(config), name, None), property):
            return None
        value = getattr(config, name, None)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    changes: dict = {}
    for value, names in SIZES:
        changes |= {name: value for name in names if current(name) is not None and current(name) > value}
    changes |= {name: 1 for name in ("n_group", "topk_group") if current(name) is not None}
    if current("rotary_dim") is not None:
        changes["rotary_dim"] = HEAD_DIM
    if current("mamba_n_heads") is not None:
        changes["mamba_n_heads"] = HEADS
        if current("mamba_d_head") is not None:
            changes["mamba_d_head"] = (current("mamba_expand") or 2) * WIDTH // HEADS
    if "vocab_size" in vars(config) and config.vocab_size is None:
        changes["vocab_size"] = (
            64  # a text model whose default config leaves the vocabulary to the checkpoint (ESM)
        )
    layers = next((current(name) for name in SIZES[2][1] if current(name) is not None), None)
    for name, value in vars(config).items():
        if isinstance(value, (list, tuple)) and layers and len(value) == layers:
            changes[name] = type(value)(value[:LAYERS])  # per-layer settings (layer_types, ...)
        elif "vocab" in name and current(name) is not None and current(name) > MAX_VOCABULARY:
            changes[name] = MAX_VOCABULARY
        elif name.endswith("_token_id") and current(name) is not None and current(name) >= MAX_VOCABULARY:
            changes[name] = current(name) % 8
    for name in getattr(config, "sub_configs", {}) or {}:
        sub_config = getattr(config, name, None)
        if isinstance(sub_config, PretrainedConfig):
            changes[name] = {**sub_config.to_dict(), **tiny_changes(sub_config)}
    return changes


def example_batch(config, seed: int = 0):
    import torch

    vocabulary = getattr(config, "vocab_size", None) or 256
    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(min(3, vocabulary - 1), vocabulary, (BATCH, LENGTH), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, -3:] = 0
    labels = torch.randint(0, NUM_LABELS, (BATCH, LENGTH), generator=generator)
    labels[attention_mask == 0] = -100
    return input_ids, attention_mask, labels


def check_architecture(model_type: str) -> dict:
    """Run steps 1-4 of the module docstring on ``model_type``; the outcome as a dict of :class:`Outcome`."""
    import torch
    from transformers import AutoModel

    from archit_codemod.instantiation.basemodels import AutoBaseModel
    from archit_codemod.instantiation.heads import TokenClassificationHeadConfig
    from archit_codemod.instantiation.tasks import ForSingleLabelTokenClassification

    outcome = {"model_type": model_type, "core": ""}
    try:
        torch.manual_seed(0)
        AutoModel.from_config(tiny_config(model_type))  # its own copy: building a model may change its config
        config = tiny_config(model_type)
    except Exception as error:  # noqa: BLE001 - any failure here is the architecture's
        which = (
            "its default config does not build either"
            if not default_builds(model_type)
            else "tiny config only"
        )
        reason = f"{one_line(error)} ({which})"
        return {**outcome, "result": "architecture", "stage": "does not build", "reason": reason}
    stage = "build"
    try:
        torch.manual_seed(0)
        model = ForSingleLabelTokenClassification.fromModelAndHeadConfig(
            AutoBaseModel(config), TokenClassificationHeadConfig(num_labels=NUM_LABELS)
        )
        outcome["core"] = type(model.model.core).__name__
        stage = "train"
        train_one_step(model, config)
        stage = "save-load"
        save_and_load(model, config)
    except Exception as error:  # noqa: BLE001 - classified below
        if stage == "train" and not architecture_runs(config):
            return {
                **outcome,
                "result": "architecture",
                "stage": "its forward fails",
                "reason": one_line(error),
            }
        if stage == "save-load" and not architecture_saves(config):
            return {
                **outcome,
                "result": "architecture",
                "stage": "its save/load fails",
                "reason": one_line(error),
            }
        return {**outcome, "result": "ours", "stage": stage, "reason": one_line(error)}
    return {**outcome, "result": "pass", "stage": "", "reason": ""}


def train_one_step(model, config) -> None:
    import torch

    input_ids, attention_mask, labels = example_batch(config)
    model.train()
    before = {name: parameter.detach().clone() for name, parameter in model.named_parameters()}
    optimiser = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss
    if not torch.isfinite(loss):
        raise AssertionError(f"the loss is {loss.item()}")
    loss.backward()
    optimiser.step()
    changed = {
        name for name, parameter in model.named_parameters() if not torch.equal(parameter, before[name])
    }
    if not any(name.startswith("head.") for name in changed) or not any(
        name.startswith("model.") for name in changed
    ):
        raise AssertionError("the optimiser step did not change both the head and the base model")


def save_and_load(model, config) -> None:
    import torch

    from archit_codemod.instantiation.tasks import ForSingleLabelTokenClassification

    input_ids, attention_mask, _ = example_batch(config, seed=1)
    model.eval()
    with torch.no_grad():
        expected = model(input_ids=input_ids, attention_mask=attention_mask).logits
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder)
        loaded = ForSingleLabelTokenClassification.from_pretrained(folder).eval()
    with torch.no_grad():
        logits = loaded(input_ids=input_ids, attention_mask=attention_mask).logits
    if not torch.equal(logits, expected):
        raise AssertionError(
            f"logits differ after save/load by up to {(logits - expected).abs().max().item():.3g}"
        )


def architecture_runs(config) -> bool:
    """Whether the architecture's own model (its encoder, for an encoder-decoder) runs on the sweep's input."""
    import torch
    from transformers import AutoModel

    input_ids, attention_mask, _ = example_batch(config)
    try:
        model = AutoModel.from_config(config).eval()
        if getattr(model.config, "is_encoder_decoder", False):
            model = model.get_encoder()
        with torch.no_grad():
            model(input_ids=input_ids, attention_mask=attention_mask)
    except Exception:  # noqa: BLE001 - the architecture's own failure
        return False
    return True


def default_builds(model_type: str) -> bool:
    """Whether the architecture's own model builds (on the meta device) from its default config."""
    import torch
    from transformers import AutoConfig, AutoModel

    try:
        with torch.device("meta"):
            AutoModel.from_config(AutoConfig.for_model(model_type))
    except Exception:  # noqa: BLE001 - the architecture's own failure
        return False
    return True


def architecture_saves(config) -> bool:
    """Whether the architecture's own model saves and loads (with the config it was built from)."""
    from transformers import AutoModel

    try:
        with tempfile.TemporaryDirectory() as folder:
            AutoModel.from_config(config).save_pretrained(folder)
            AutoModel.from_pretrained(folder)
    except Exception:  # noqa: BLE001 - the architecture's own failure
        return False
    return True


def one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:200]}"


def worker_main(memory_limit_gb: float) -> None:
    """Answer one JSON line per model type read on stdin, on the original stdout."""
    import resource

    import transformers

    # An architecture whose tiny config still allocates gigabytes must fail here (MemoryError), not make the
    # kernel kill processes of other users of the machine.
    limit = int(memory_limit_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    transformers.logging.set_verbosity_error()
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # what models print must not corrupt the answers
    sys.stdout = sys.stderr
    for line in sys.stdin:
        model_type = json.loads(line)
        started = time.perf_counter()
        try:
            answer = check_architecture(model_type)
        except BaseException as error:  # noqa: BLE001 - report, never die on one architecture
            answer = {
                "model_type": model_type,
                "core": "",
                "result": "ours",
                "stage": "worker",
                "reason": one_line(error),
            }
        answer["seconds"] = round(time.perf_counter() - started, 2)
        answers.write(json.dumps(answer) + "\n")


# --------------------------------------------------------------------------------------------------
# Parent: selects the architectures, hands them to workers, writes the table.


@dataclass
class Outcome:
    model_type: str
    core: str
    result: str  # pass | ours | architecture
    stage: str
    reason: str
    seconds: float = 0.0


def text_architectures() -> list[str]:
    """Model types of AutoModel's mapping that have a text task, and neither a mapping of another modality nor a
    sub-config of another modality (see :data:`OTHER_MODALITIES`)."""
    from transformers import AutoConfig
    from transformers.models.auto import modeling_auto

    mappings = {
        name: getattr(modeling_auto, name) for name in dir(modeling_auto) if name.endswith("_MAPPING_NAMES")
    }
    with_text_task = set().union(*(mappings.get(name, {}) for name in TEXT_TASK_MAPPINGS))
    other_modality = set().union(
        *(
            mapping
            for name, mapping in mappings.items()
            if any(word in name.lower() for word in OTHER_MODALITIES)
        )
    )
    chosen = []
    for model_type in sorted(set(modeling_auto.MODEL_MAPPING_NAMES) & with_text_task - other_modality):
        try:
            config = AutoConfig.for_model(model_type)
            parts = [
                f"{name} {type(getattr(config, name, None)).__name__}" for name in config.sub_configs or {}
            ]
        except Exception:  # noqa: BLE001 - a config that cannot be built is checked (and reported) by the worker
            parts = []
        if not any(word in part.lower() for part in parts for word in OTHER_MODALITIES):
            chosen.append(model_type)
    return chosen


class Worker:
    """One worker subprocess, restarted after a timeout or a crash."""

    def __init__(self, log, memory_limit_gb: float):
        self.log, self.memory_limit_gb = log, memory_limit_gb
        self.process: subprocess.Popen | None = None
        self.answers: queue.Queue = queue.Queue()

    def start(self) -> None:
        repository = str(Path(__file__).resolve().parent.parent)
        environment = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [repository, os.environ.get("PYTHONPATH")])),
        }
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--worker", "--memory-limit", str(self.memory_limit_gb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True, env=environment,
        )  # fmt: skip
        self.answers = queue.Queue()
        threading.Thread(target=self._read, args=(self.process, self.answers), daemon=True).start()

    @staticmethod
    def _read(process: subprocess.Popen, answers: queue.Queue) -> None:
        for line in process.stdout:
            answers.put(json.loads(line))
        answers.put(None)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            process.kill()
            process.wait()

    def run(self, model_type: str, timeout: float) -> Outcome:
        if self.process is None:
            self.start()
        try:
            self.process.stdin.write(json.dumps(model_type) + "\n")
            self.process.stdin.flush()
            answer = self.answers.get(timeout=timeout)
        except queue.Empty:
            self.stop()
            return Outcome(model_type, "", "ours", "timeout", f"no answer within {timeout:.0f} s", timeout)
        except BrokenPipeError:
            answer = None
        if answer is None:
            code = self.process.wait()
            self.process = None
            return Outcome(model_type, "", "ours", "crash", f"the worker exited with code {code}")
        return Outcome(**answer)


def sweep(model_types: list[str], jobs: int, timeout: float, memory_limit_gb: float, log) -> list[Outcome]:
    pending: queue.Queue = queue.Queue()
    for model_type in model_types:
        pending.put(model_type)
    outcomes: list[Outcome] = []

    def serve() -> None:
        worker = Worker(log, memory_limit_gb)
        try:
            while True:
                try:
                    model_type = pending.get_nowait()
                except queue.Empty:
                    return
                outcome = worker.run(model_type, timeout)
                outcomes.append(outcome)
                print(f"{len(outcomes):4d}/{len(model_types)} {outcome.model_type:<32} {outcome.result:<12} "
                      f"{outcome.stage} {outcome.reason[:100]}", flush=True)  # fmt: skip
        finally:
            worker.stop()

    with ThreadPoolExecutor(jobs) as pool:
        for future in [pool.submit(serve) for _ in range(jobs)]:
            future.result()
    return sorted(outcomes, key=lambda outcome: outcome.model_type)


def summary(outcomes: list[Outcome]) -> str:
    import transformers

    counts = Counter(outcome.result for outcome in outcomes)
    stages = Counter(outcome.stage for outcome in outcomes if outcome.result == "architecture")
    builds = len(outcomes) - stages["does not build"]
    rate = counts["pass"] / builds if builds else 0.0
    return (
        f"transformers {transformers.__version__}: {len(outcomes)} text architectures; {builds} build with their own "
        f"AutoModel from the tiny config; {counts['pass']} pass ({rate:.1%} of those), {counts['ours']} fail by "
        f"this package, {counts['architecture']} fail by the architecture ({stages['does not build']} do not build, "
        f"{stages['its forward fails']} whose own forward fails, {stages['its save/load fails']} whose own "
        f"save/load fails)."
    )


HEADER = """# Instantiation sweep

Written by `python benchmarks/sweep_instantiation.py --jobs 2 --out docs/sweep-instantiation.md`. For every text
architecture of transformers' `AutoModel` mapping (those with a text task and no sub-config of another modality), a
tiny config is derived from the default one (width 32, 2 layers, 4 heads, feed-forward 64, few experts, at most 4096
tokens), and `ForSingleLabelTokenClassification` over `AutoBaseModel` is built, trained one step (finite loss, head
and base model both change) and saved and loaded (equal logits). `result` says whose a failure is: `ours` (this
package), or `architecture` when the architecture's own `AutoModel` does not build from the tiny config, or its own
forward (its encoder's, for encoder-decoder models), or its own save/load, fails too. The pass rate counts the
architectures whose own `AutoModel` builds.
"""


def table(outcomes: list[Outcome]) -> str:
    lines = [
        "| model type | core built by AutoBaseModel | result | stage | reason |",
        "|---|---|---|---|---|",
    ]
    for outcome in outcomes:
        reason = outcome.reason.replace("|", "\\|")
        core = f"`{outcome.core}`" if outcome.core else ""
        lines.append(f"| {outcome.model_type} | {core} | {outcome.result} | {outcome.stage} | {reason} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--only", help="comma-separated model types (default: every text architecture)")
    parser.add_argument("--out", type=Path, help="write the summary and the table (Markdown) to this file")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per architecture (default 300)")
    parser.add_argument("--log", type=Path, help="the workers' standard error (default: discarded)")
    parser.add_argument(
        "--memory-limit", type=float, default=6.0, help="GiB of address space per worker (default 6)"
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.worker:
        worker_main(arguments.memory_limit)
        return 0
    model_types = arguments.only.split(",") if arguments.only else text_architectures()
    started = time.perf_counter()
    with open(arguments.log or os.devnull, "w") as log:
        outcomes = sweep(model_types, arguments.jobs, arguments.timeout, arguments.memory_limit, log)
    text = f"{HEADER}\n{summary(outcomes)}\n\n{table(outcomes)}"
    print(f"\n{text}\nElapsed: {time.perf_counter() - started:.0f} s")
    if arguments.out:
        arguments.out.write_text(text, encoding="utf-8")
    return 0 if all(outcome.result != "ours" for outcome in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
