"""Training with transformers' Trainer, and loss terms that modules inside the base model add."""

import torch
from conftest import example_batch, tiny_config
from torch import nn
from transformers import Trainer, TrainingArguments

from archit_codemod.instantiation.basemodels import RobertaBaseModel
from archit_codemod.instantiation.heads import TokenClassificationHeadConfig
from archit_codemod.instantiation.mixins import ReportDiagnosticsMixin, StatefulLossMixin
from archit_codemod.instantiation.tasks import ForSingleLabelTokenClassification


def mean_loss(model, examples) -> float:
    model.eval()
    with torch.no_grad():
        batch = {key: torch.stack([example[key] for example in examples]) for key in examples[0]}
        return model(**batch).loss.item()


def test_trainer_lowers_the_loss(tmp_path):
    torch.manual_seed(0)
    model = ForSingleLabelTokenClassification.fromModelAndHeadConfig(
        RobertaBaseModel(tiny_config("roberta")), TokenClassificationHeadConfig(num_labels=2)
    )
    input_ids, attention_mask = example_batch(batch=8, length=8)
    labels = (input_ids % 2).masked_fill(attention_mask == 0, -100)  # learnable: the parity of the token id
    examples = [
        {"input_ids": i, "attention_mask": m, "labels": y}
        for i, m, y in zip(input_ids, attention_mask, labels, strict=True)
    ]
    before = mean_loss(model, examples)

    arguments = TrainingArguments(
        output_dir=str(tmp_path), per_device_train_batch_size=4, num_train_epochs=5, learning_rate=5e-3,
        use_cpu=True, report_to=[], save_strategy="no", logging_strategy="no", disable_tqdm=True,
    )  # fmt: skip
    Trainer(model=model, args=arguments, train_dataset=examples).train()

    assert mean_loss(model, examples) < before * 0.8


class PenalisedLayerNorm(StatefulLossMixin, ReportDiagnosticsMixin, nn.Module):
    """Wraps a layer norm and adds the mean absolute output to the loss, as a regulariser deep in the core would."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.inner(x)
        self.addToLoss("activation", y.abs().mean(), coefficient=0.5)
        self.report({"activation_mean": y.mean().item()})
        return y


def test_loss_terms_from_inside_the_base_model_reach_the_task_loss():
    torch.manual_seed(0)
    model = ForSingleLabelTokenClassification.fromModelAndHeadConfig(
        RobertaBaseModel(tiny_config("roberta")), TokenClassificationHeadConfig(num_labels=2)
    ).eval()
    embeddings = model.model.core.embeddings
    embeddings.LayerNorm = PenalisedLayerNorm(embeddings.LayerNorm)  # swapped in after construction
    input_ids, attention_mask = example_batch()
    labels = torch.zeros_like(input_ids)

    output = model(input_ids, attention_mask, labels=labels)
    term = 0.5 * embeddings.LayerNorm.inner(embeddings(input_ids=input_ids)).abs().mean()
    task_loss = model.computeLoss(output.logits, labels)
    assert torch.allclose(output.loss, task_loss + term)
    assert "activation_mean" in model.model.diagnostics()
    # The state is reset per forward: a second pass adds the term once, not twice.
    assert torch.allclose(model(input_ids, attention_mask, labels=labels).loss, output.loss)
