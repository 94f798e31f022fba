"""A ModelWithHead under transformers' Trainer: training, evaluation with metrics, checkpoints and resuming.

Everything runs on CPU with tiny models; the resumed run is compared bit for bit with an uninterrupted one
(same seed, same data), which also checks that the optimizer, scheduler and RNG states round-trip.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from ecosystem_support import (
    NUM_LABELS,
    SEQUENCE_LENGTH,
    batch_of,
    masked_lm,
    masked_lm_examples,
    token_classifier,
    token_examples,
    weights_digest,
)
from transformers import EvalPrediction, Trainer, TrainerCallback, TrainingArguments

from archit_codemod.instantiation.tasks import ForMaskedLM, ForSingleLabelTokenClassification


def training_arguments(output_dir: Path, **overrides: Any) -> TrainingArguments:
    """Tiny CPU training: 6 steps of 4 examples, fixed seed, no reporting, no progress bars."""
    settings: dict[str, Any] = dict(
        output_dir=str(output_dir), per_device_train_batch_size=4, per_device_eval_batch_size=4, max_steps=6,
        learning_rate=5e-3, seed=0, use_cpu=True, report_to=[], logging_steps=1, disable_tqdm=True,
        save_strategy="no", dataloader_num_workers=0,
    )  # fmt: skip
    settings.update(overrides)
    return TrainingArguments(**settings)


def eval_mode_logits(model: torch.nn.Module, examples: list[dict[str, torch.Tensor]]) -> np.ndarray:
    """The model's logits on ``examples`` with dropout off, leaving the model in the mode it was in."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        logits = model(**batch_of(examples)).logits
    model.train(was_training)
    return logits.numpy()


def logits_of(prediction: EvalPrediction) -> np.ndarray:
    """The logits in ``prediction.predictions``: the array itself, or the first output when the model
    returned more than loss and logits (transformers then passes a tuple, logits first)."""
    predictions = prediction.predictions
    return predictions[0] if isinstance(predictions, tuple) else predictions


def token_accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    scored = labels != -100
    return float((logits.argmax(-1)[scored] == labels[scored]).mean())


def test_trainer_trains_and_evaluates_with_metrics_on_eval_mode_logits(tmp_path):
    model = token_classifier(seed=0)
    train_examples, eval_examples = token_examples(16, seed=0), token_examples(6, seed=1)
    calls: list[dict[str, Any]] = []

    def compute_metrics(prediction: EvalPrediction) -> dict[str, float]:
        logits = logits_of(prediction)
        # What the model computes right now without dropout: Trainer must have evaluated in eval mode.
        calls.append(
            {
                "logits": logits,
                "labels": prediction.label_ids,
                "expected": eval_mode_logits(model, eval_examples),
            }
        )
        return {"accuracy": token_accuracy(logits, prediction.label_ids)}

    trainer = Trainer(
        model=model,
        args=training_arguments(tmp_path, eval_strategy="steps", eval_steps=3),
        train_dataset=train_examples,
        eval_dataset=eval_examples,
        compute_metrics=compute_metrics,
    )
    initial_loss = trainer.evaluate()["eval_loss"]
    trainer.train()
    final = trainer.evaluate()

    # Once before training, at steps 3 and 6 during training, once after.
    assert len(calls) == 4
    for call in calls:
        assert call["logits"].shape == (len(eval_examples), SEQUENCE_LENGTH, NUM_LABELS)
        assert call["labels"].shape == (len(eval_examples), SEQUENCE_LENGTH)
        np.testing.assert_allclose(call["logits"], call["expected"], rtol=1e-5, atol=1e-6)
    assert (calls[0]["labels"] == batch_of(eval_examples)["labels"].numpy()).all()

    # train() starts a new history: the evaluations at steps 3 and 6, then the final one.
    logged = [entry for entry in trainer.state.log_history if "eval_accuracy" in entry]
    assert [entry["step"] for entry in logged] == [3, 6, 6]
    assert final["eval_accuracy"] == pytest.approx(token_accuracy(calls[-1]["expected"], calls[-1]["labels"]))
    assert final["eval_loss"] < initial_loss


def test_compute_metrics_receives_only_the_logits(tmp_path):
    """transformers' own task models hand compute_metrics the logits array, and user code relies on it
    (``np.argmax(prediction.predictions, axis=-1)``)."""
    received: list[Any] = []

    def compute_metrics(prediction: EvalPrediction) -> dict[str, float]:
        received.append(prediction.predictions)
        return {}

    trainer = Trainer(
        model=token_classifier(seed=0),
        args=training_arguments(tmp_path),
        eval_dataset=token_examples(4),
        compute_metrics=compute_metrics,
    )
    trainer.evaluate()
    assert isinstance(received[0], np.ndarray)


class StepRecorder(TrainerCallback):
    """Records the global step at the end of every optimizer step this trainer runs."""

    def __init__(self) -> None:
        self.steps: list[int] = []

    def on_step_end(self, args, state, control, **kwargs):
        self.steps.append(state.global_step)


def losses_by_step(trainer: Trainer) -> dict[int, float]:
    return {entry["step"]: entry["loss"] for entry in trainer.state.log_history if "loss" in entry}


# task, model builder, example builder
TASKS = {
    "token-classification": (ForSingleLabelTokenClassification, token_classifier, token_examples),
    "masked-lm-tied": (ForMaskedLM, masked_lm, masked_lm_examples),
}


@pytest.mark.parametrize("task", sorted(TASKS))
def test_resuming_from_a_checkpoint_ends_with_the_weights_of_an_uninterrupted_run(tmp_path, task):
    task_class, build, examples_of = TASKS[task]
    examples = examples_of(16)

    uninterrupted = build(seed=0)
    first_run = tmp_path / "uninterrupted"
    first_trainer = Trainer(
        model=uninterrupted,
        args=training_arguments(first_run, save_strategy="steps", save_steps=3),
        train_dataset=examples,
    )
    first_trainer.train()
    checkpoint = first_run / "checkpoint-3"
    assert sorted(path.name for path in first_run.iterdir()) == ["checkpoint-3", "checkpoint-6"]
    assert json.loads((checkpoint / "trainer_state.json").read_text())["global_step"] == 3

    # The checkpoint is a model of its own: the task class loads it with transformers' from_pretrained.
    saved = task_class.from_pretrained(checkpoint)
    assert type(saved) is task_class

    # Different initial weights: everything the resumed run ends with must come from the checkpoint.
    resumed = build(seed=123)
    assert weights_digest(resumed) != weights_digest(uninterrupted)
    steps_run = StepRecorder()
    trainer = Trainer(
        model=resumed,
        args=training_arguments(tmp_path / "resumed", save_strategy="steps", save_steps=3),
        train_dataset=examples,
        callbacks=[steps_run],
    )
    trainer.train(resume_from_checkpoint=str(checkpoint))

    assert steps_run.steps == [4, 5, 6]
    # The history holds steps 1 to 3 from the checkpoint and 4 to 6 from this run: the same losses.
    assert losses_by_step(trainer) == losses_by_step(first_trainer)
    assert sorted(losses_by_step(trainer)) == [1, 2, 3, 4, 5, 6]
    assert weights_digest(resumed) == weights_digest(uninterrupted)
    for (name, expected), actual in zip(
        uninterrupted.state_dict().items(), resumed.state_dict().values(), strict=True
    ):
        assert torch.equal(expected, actual), name
    if task == "masked-lm-tied":
        assert resumed.head.decoder.weight is resumed.get_input_embeddings().weight
