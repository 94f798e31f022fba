"""A model declared by the codemod (subclass mode) trains under Trainer exactly like the traced original.

The example scripts are traced in this process, the codemod generates and verifies their classes, the
generated module is imported on its own, its root class is built from the traced model's config and
loaded with the traced weights (strictly). Then both models train for the same steps on the same data
and seed: the losses must be the same at every step, and go down.
"""

from __future__ import annotations

import copy
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
import torch
from ecosystem_support import REPO_ROOT, weights_digest
from torch import nn
from transformers import PreTrainedModel, Trainer, TrainingArguments

from archit_codemod.declaration import api
from archit_codemod.declaration.tracing.roots import find_roots
from archit_codemod.declaration.tracing.tracer import run_script


@dataclass(frozen=True)
class Case:
    script: str
    task: str  # "sequence-classification" or "masked-lm": which labels the examples get


CASES = {
    "bert-lora": Case("examples/bert_lora.py", "sequence-classification"),
    "roberta-embeddings": Case("examples/roberta_word_embeddings.py", "masked-lm"),
}


def import_file(path: Path, name: str) -> ModuleType:
    """Import ``path`` as module ``name`` on its own (registered in ``sys.modules`` while it runs)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def examples_for(task: str, config, count: int = 16) -> list[dict[str, torch.Tensor]]:
    generator = torch.Generator().manual_seed(0)
    input_ids = torch.randint(3, config.vocab_size, (count, 8), generator=generator)
    if task == "sequence-classification":
        labels = input_ids[:, 0] % config.num_labels  # learnable from the first token
    else:
        labels = torch.full_like(input_ids, -100)
        labels[:, 3] = input_ids[:, 3]
    return [
        {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": label}
        for ids, label in zip(input_ids, labels, strict=True)
    ]


def train(model: nn.Module, examples, output_dir: Path) -> list[float]:
    """Train 8 steps with a fixed seed; the loss of every step."""
    arguments = TrainingArguments(
        output_dir=str(output_dir), per_device_train_batch_size=4, max_steps=8, learning_rate=1e-2, seed=0,
        use_cpu=True, report_to=[], logging_steps=1, save_strategy="no", disable_tqdm=True,
    )  # fmt: skip
    trainer = Trainer(model=model, args=arguments, train_dataset=examples)
    trainer.train()
    return [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]


@pytest.fixture(scope="module")
def declared(tmp_path_factory) -> dict[str, tuple[nn.Module, type[nn.Module]]]:
    """Per case: the traced model and the generated root class (verified, imported from its own file)."""
    result = {}
    for name, case in CASES.items():
        trace = run_script(REPO_ROOT / case.script)
        roots = find_roots(trace, "model")
        generated = api.generate(trace, roots)
        api.verify(generated, trace, roots)
        path = tmp_path_factory.mktemp(name) / f"declared_{name.replace('-', '_')}.py"
        path.write_text(generated.source, encoding="utf-8")
        module = import_file(path, path.stem)
        result[name] = (roots["model"], getattr(module, generated.root_classes["model"]))
    return result


@pytest.mark.parametrize("case", sorted(CASES))
def test_declared_class_trains_like_the_traced_model(declared, case, tmp_path):
    traced, declared_class = declared[case]
    # Subclass mode: the declared class is the original, so transformers treats it as one.
    assert issubclass(declared_class, type(traced))
    assert declared_class is not type(traced)

    torch.manual_seed(7)
    model = declared_class(copy.deepcopy(traced.config))
    model.load_state_dict(traced.state_dict(), strict=True)
    # Which parameters train is the script's choice (bert_lora freezes all but the adapters), not the class's.
    trainable = {name: parameter.requires_grad for name, parameter in traced.named_parameters()}
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(trainable[name])
    assert weights_digest(model) == weights_digest(traced)

    original = copy.deepcopy(traced)
    examples = examples_for(CASES[case].task, traced.config)
    original_losses = train(original, examples, tmp_path / "original")
    declared_losses = train(model, examples, tmp_path / "declared")

    assert len(declared_losses) == 8
    assert declared_losses == pytest.approx(original_losses, rel=1e-5, abs=1e-6)
    assert sum(declared_losses[-3:]) < sum(declared_losses[:3])
    for (name, expected), actual in zip(
        original.state_dict().items(), model.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-6, msg=name)


@pytest.mark.parametrize("case", sorted(CASES))
def test_declared_class_round_trips_through_save_and_from_pretrained(declared, case, tmp_path):
    traced, declared_class = declared[case]
    assert issubclass(declared_class, PreTrainedModel)
    model = declared_class(copy.deepcopy(traced.config))
    model.load_state_dict(traced.state_dict(), strict=True)
    model.save_pretrained(tmp_path)

    loaded = declared_class.from_pretrained(tmp_path)
    assert type(loaded) is declared_class
    assert {path: type(module) for path, module in loaded.named_modules()} == {
        path: type(module) for path, module in model.named_modules()
    }
    assert weights_digest(loaded) == weights_digest(traced)
    # The loaded weights are the traced model's: the same outputs.
    input_ids = torch.randint(3, traced.config.vocab_size, (2, 8), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(loaded.eval()(input_ids).logits, traced.eval()(input_ids).logits)
