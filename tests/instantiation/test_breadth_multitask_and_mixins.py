"""Several tasks on one base model; a loss term added deep inside the base model reaches the task loss."""

import pytest
import torch
from breadth_tiny_models import ARCHITECTURES_BY_NAME, example_input_ids

from archit_codemod.instantiation.basemodels import AutoBaseModel
from archit_codemod.instantiation.heads import (
    DependencyParsingHeadConfig,
    MaskedLMHeadConfig,
    SequenceClassificationHeadConfig,
    TokenClassificationHeadConfig,
)
from archit_codemod.instantiation.mixins import StatefulLossMixin
from archit_codemod.instantiation.tasks import (
    ForDependencyParsing,
    ForMaskedLM,
    ForMultipleTasks,
    ForSingleLabelSequenceClassification,
    ForSingleLabelTokenClassification,
    MultiTaskHeadConfig,
    TaskSpec,
)


def multitask_model() -> ForMultipleTasks:
    torch.manual_seed(0)
    head_config = MultiTaskHeadConfig(
        tasks={
            "ner": TaskSpec(
                ForSingleLabelTokenClassification, TokenClassificationHeadConfig(num_labels=5), weight=1.0
            ),
            "sentiment": TaskSpec(
                ForSingleLabelSequenceClassification,
                SequenceClassificationHeadConfig(num_labels=2),
                weight=0.5,
            ),
            "mlm": TaskSpec(ForMaskedLM, MaskedLMHeadConfig(tie_weights=False), weight=0.1),
        }
    )
    return ForMultipleTasks.fromModelAndHeadConfig(
        AutoBaseModel(ARCHITECTURES_BY_NAME["roberta"].make_config()), head_config
    )


def test_one_base_forward_and_the_weighted_sum_of_the_task_losses():
    model = multitask_model()
    input_ids, attention_mask = example_input_ids()
    labels = {
        "ner": torch.randint(0, 5, (2, 7)),
        "sentiment": torch.tensor([0, 1]),
        "mlm": torch.where(torch.rand(2, 7) < 0.3, input_ids, -100),
    }
    labels["mlm"][0, 0] = input_ids[0, 0]  # at least one masked position

    calls = []
    model.model.core.register_forward_hook(lambda *args: calls.append(1))
    output = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    assert len(calls) == 1
    assert output.logits["ner"].shape == (2, 7, 5)
    assert output.logits["sentiment"].shape == (2, 2)
    assert output.logits["mlm"].shape == (2, 7, 99)

    cross_entropy = torch.nn.functional.cross_entropy
    expected = (
        1.0 * cross_entropy(output.logits["ner"].reshape(-1, 5), labels["ner"].reshape(-1))
        + 0.5 * cross_entropy(output.logits["sentiment"], labels["sentiment"])
        + 0.1 * cross_entropy(output.logits["mlm"].reshape(-1, 99), labels["mlm"].reshape(-1))
    )
    torch.testing.assert_close(output.loss, expected)
    output.loss.backward()
    for head in model.head.heads.values():
        assert all(parameter.grad is not None for parameter in head.parameters())

    # A batch with labels for one task only trains that task.
    only_ner = model(input_ids=input_ids, attention_mask=attention_mask, labels={"ner": labels["ner"]})
    torch.testing.assert_close(
        only_ner.loss, cross_entropy(only_ner.logits["ner"].reshape(-1, 5), labels["ner"].reshape(-1))
    )
    with pytest.raises(ValueError, match=r"unknown task\(s\) \['pos'\]"):
        model(input_ids=input_ids, labels={"pos": labels["ner"]})


def test_multitask_round_trip_is_exact(tmp_path):
    model = multitask_model().eval()
    model.save_pretrained(tmp_path)
    loaded = ForMultipleTasks.from_pretrained(tmp_path).eval()
    assert loaded.config.head_config == model.config.head_config
    assert loaded.config.head_config.tasks["sentiment"].weight == 0.5
    input_ids, attention_mask = example_input_ids()
    with torch.no_grad():
        mine, theirs = model(input_ids, attention_mask).logits, loaded(input_ids, attention_mask).logits
    assert mine.keys() == theirs.keys()
    for name in mine:
        assert torch.equal(mine[name], theirs[name])


def test_tasks_that_cannot_share_a_base_forward_are_refused():
    with pytest.raises(ValueError, match="feeds the base model its own way"):
        ForMultipleTasks.fromModelAndHeadConfig(
            AutoBaseModel(ARCHITECTURES_BY_NAME["bert"].make_config()),
            MultiTaskHeadConfig(
                tasks={"parse": TaskSpec(ForDependencyParsing, DependencyParsingHeadConfig(num_labels=3))}
            ),
        )
    with pytest.raises(ValueError, match="tie_weights=False"):
        ForMultipleTasks.fromModelAndHeadConfig(
            AutoBaseModel(ARCHITECTURES_BY_NAME["bert"].make_config()),
            MultiTaskHeadConfig(tasks={"mlm": TaskSpec(ForMaskedLM, MaskedLMHeadConfig(tie_weights=True))}),
        )


class PenalisedIntermediate(torch.nn.Module, StatefulLossMixin):
    """Wraps a BERT feed-forward layer and adds the mean square of its output as a loss term."""

    def __init__(self, inner: torch.nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, hidden_states):
        output = self.inner(hidden_states)
        self.addToLoss("activation_penalty", output.pow(2).mean(), coefficient=0.25)
        return output


def test_a_loss_term_added_inside_the_base_model_reaches_the_task_loss():
    torch.manual_seed(0)
    base = AutoBaseModel(ARCHITECTURES_BY_NAME["bert"].make_config())
    layer = base.core.encoder.layer[1]
    layer.intermediate = PenalisedIntermediate(layer.intermediate)
    model = ForSingleLabelTokenClassification.fromModelAndHeadConfig(
        base, TokenClassificationHeadConfig(num_labels=3)
    )
    model.eval()
    input_ids, attention_mask = example_input_ids()
    labels = torch.randint(0, 3, (2, 7))

    seen = {}
    layer.intermediate.inner.register_forward_hook(
        lambda module, args, output: seen.setdefault("output", output)
    )
    output = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    task_loss = torch.nn.functional.cross_entropy(output.logits.reshape(-1, 3), labels.reshape(-1))
    torch.testing.assert_close(output.loss, task_loss + 0.25 * seen["output"].pow(2).mean())

    # The term is reset between forwards: a second forward adds it once, not twice.
    seen.clear()
    again = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    torch.testing.assert_close(again.loss, output.loss)
    # Without labels there is no loss at all.
    assert model(input_ids=input_ids, attention_mask=attention_mask).loss is None
