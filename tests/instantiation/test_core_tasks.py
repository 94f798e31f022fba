"""Every task: forward, finite loss, backward into base and head; and the loss functions on hand-checked values."""

import math

import pytest
import torch
import transformers
from conftest import VOCAB, WRAPPERS, example_batch, tiny_config

from archit_codemod.instantiation.basemodels import RobertaBaseModel
from archit_codemod.instantiation.heads import (
    CausalLMHeadConfig,
    ExtractiveQAHeadConfig,
    MaskedLMHeadConfig,
    SequenceClassificationHeadConfig,
    TokenClassificationHeadConfig,
)
from archit_codemod.instantiation.tasks import (
    ForCausalLM,
    ForExtractiveQA,
    ForMaskedLM,
    ForMultiLabelSequenceClassification,
    ForSequenceRegression,
    ForSingleLabelSequenceClassification,
    ForSingleLabelTokenClassification,
)


def labels_for(task: type, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    batch, length = input_ids.shape
    if task is ForSingleLabelTokenClassification:
        return torch.randint(0, 3, (batch, length)).masked_fill(attention_mask == 0, -100)
    if task is ForSingleLabelSequenceClassification:
        return torch.randint(0, 3, (batch,))
    if task is ForMultiLabelSequenceClassification:
        return torch.randint(0, 2, (batch, 3)).float()
    if task is ForSequenceRegression:
        return torch.randn(batch)
    if task in (ForMaskedLM, ForCausalLM):
        return input_ids.masked_fill(attention_mask == 0, -100)
    if task is ForExtractiveQA:
        return torch.tensor([[1, 3], [2, 4]])
    raise KeyError(task)


TASKS_AND_HEAD_CONFIGS = [
    (ForSingleLabelTokenClassification, TokenClassificationHeadConfig(num_labels=3), (2, 8, 3)),
    (ForSingleLabelSequenceClassification, SequenceClassificationHeadConfig(num_labels=3), (2, 3)),
    (ForMultiLabelSequenceClassification, SequenceClassificationHeadConfig(num_labels=3), (2, 3)),
    (ForSequenceRegression, SequenceClassificationHeadConfig(num_labels=1), (2, 1)),
    (ForMaskedLM, MaskedLMHeadConfig(), (2, 8, VOCAB)),
    (ForCausalLM, CausalLMHeadConfig(), (2, 8, VOCAB)),
    (ForExtractiveQA, ExtractiveQAHeadConfig(), (2, 8, 2)),
]


@pytest.mark.parametrize(
    ("task", "head_config", "logits_shape"),
    TASKS_AND_HEAD_CONFIGS,
    ids=lambda x: getattr(x, "__name__", None),
)
def test_task_forward_loss_backward(task, head_config, logits_shape):
    torch.manual_seed(0)
    model = task.fromModelAndHeadConfig(RobertaBaseModel(tiny_config("roberta")), head_config)
    model.train()
    input_ids, attention_mask = example_batch()
    output = model(
        input_ids=input_ids, attention_mask=attention_mask, labels=labels_for(task, input_ids, attention_mask)
    )

    assert output.loss is not None and torch.isfinite(output.loss)
    assert output.loss.dim() == 0
    assert tuple(output.logits.shape) == logits_shape  # logits are kept in training mode too
    assert output.to_tuple()[0] is output.loss  # Trainer reads the loss first

    output.loss.backward()
    layer_weight = model.model.core.encoder.layer[0].attention.self.query.weight
    assert layer_weight.grad is not None and layer_weight.grad.abs().sum() > 0
    for name, parameter in model.head.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


@pytest.mark.parametrize("architecture", sorted(WRAPPERS))
def test_every_wrapper_trains_a_head(architecture):
    torch.manual_seed(0)
    wrapper, _ = WRAPPERS[architecture]
    model = ForSingleLabelSequenceClassification.fromModelAndHeadConfig(
        wrapper(tiny_config(architecture)), SequenceClassificationHeadConfig(num_labels=2)
    )
    input_ids, attention_mask = example_batch()
    output = model(input_ids=input_ids, attention_mask=attention_mask, labels=torch.tensor([0, 1]))
    assert torch.isfinite(output.loss)
    output.loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.model.parameters())
    assert model.head.out_proj.weight.grad.abs().sum() > 0


def test_sequence_classification_mean_pools_over_the_mask_when_there_is_no_pooler():
    model = ForSingleLabelSequenceClassification.fromModelAndHeadConfig(
        RobertaBaseModel(tiny_config("roberta")), SequenceClassificationHeadConfig(num_labels=2)
    ).eval()
    input_ids, attention_mask = example_batch()
    base_output = model.model(input_ids, attention_mask)
    assert base_output.pooler_output is None  # RoBERTa is wrapped without its pooling layer
    pooled = model.head.pool(base_output, attention_mask)
    # Row 1 has two padding positions at the end: their embeddings must not count.
    assert torch.allclose(pooled[1], base_output.last_hidden_state[1, :6].mean(dim=0))
    assert torch.allclose(pooled[0], base_output.last_hidden_state[0].mean(dim=0))


def build(task, head_config):
    return task.fromModelAndHeadConfig(RobertaBaseModel(tiny_config("roberta")), head_config)


def test_regression_squeezes_a_single_output():
    model = build(ForSequenceRegression, SequenceClassificationHeadConfig(num_labels=1))
    loss = model.computeLoss(torch.tensor([[1.0], [3.0]]), torch.tensor([0.0, 1.0]))
    assert loss.item() == pytest.approx((1.0**2 + 2.0**2) / 2)  # no B x B broadcasting


def test_causal_lm_loss_predicts_the_next_token():
    model = build(ForCausalLM, CausalLMHeadConfig())
    labels = torch.tensor([[5, 6, 7, 8]])
    logits = torch.full((1, 4, VOCAB), -100.0)
    for position in range(3):  # position i is (correctly) sure of token i+1
        logits[0, position, labels[0, position + 1]] = 100.0
    assert model.computeLoss(logits, labels).item() == pytest.approx(0.0, abs=1e-6)
    unshifted = torch.full((1, 4, VOCAB), -100.0)
    for position in range(4):  # sure of its own token: wrong under shifting
        unshifted[0, position, labels[0, position]] = 100.0
    assert model.computeLoss(unshifted, labels).item() > 100


def test_extractive_qa_ignores_answers_outside_the_sequence():
    model = build(ForExtractiveQA, ExtractiveQAHeadConfig())
    logits = torch.zeros(2, 8, 2)  # uniform over 8 positions: cross-entropy log(8) per answer
    labels = torch.tensor([[1, 3], [2, 100]])  # the second end is out of range: clamped to 8, ignored
    assert model.computeLoss(logits, labels).item() == pytest.approx(math.log(8))
    logits[1, :, 1] = torch.arange(8.0) * 50  # would be a huge loss for the ignored end if it counted
    assert model.computeLoss(logits, labels).item() == pytest.approx(math.log(8))


def test_multilabel_uses_binary_cross_entropy_per_label():
    model = build(ForMultiLabelSequenceClassification, SequenceClassificationHeadConfig(num_labels=2))
    loss = model.computeLoss(torch.zeros(1, 2), torch.tensor([[1.0, 0.0]]))
    assert loss.item() == pytest.approx(math.log(2))  # sigmoid(0) = 1/2 for both labels


@pytest.mark.parametrize(
    ("task", "head_config"),
    [
        (ForSingleLabelTokenClassification, TokenClassificationHeadConfig()),
        (ForSingleLabelSequenceClassification, SequenceClassificationHeadConfig(num_labels=0)),
    ],
)
def test_heads_that_need_labels_refuse_zero_labels_with_the_fix(task, head_config):
    with pytest.raises(
        ValueError, match=r"num_labels >= 1.*Fix: .*HeadConfig\(num_labels=<number of labels>\)"
    ):
        build(task, head_config)


def test_lm_heads_refuse_a_base_model_without_vocabulary():
    from archit_codemod.instantiation.basemodels import CanineBaseModel

    with pytest.raises(ValueError, match="no vocabulary"):
        ForMaskedLM.fromModelAndHeadConfig(CanineBaseModel(tiny_config("canine")), MaskedLMHeadConfig())


def test_head_weights_are_initialised_as_documented():
    torch.manual_seed(0)
    model = build(ForMaskedLM, MaskedLMHeadConfig(tie_weights=False))
    dense = model.head.dense
    assert dense.weight.std().item() == pytest.approx(0.02, rel=0.2)
    assert torch.equal(dense.bias, torch.zeros_like(dense.bias))
    assert torch.equal(model.head.layer_norm.weight, torch.ones_like(model.head.layer_norm.weight))
    assert torch.equal(model.head.layer_norm.bias, torch.zeros_like(model.head.layer_norm.bias))


def test_each_wrapper_declares_the_config_class_of_its_core():
    for wrapper, core_class in WRAPPERS.values():
        assert wrapper.configClass() is core_class.config_class, wrapper.__name__
    assert RobertaBaseModel.configClass() is transformers.RobertaConfig


def test_base_model_properties_follow_the_core():
    base = RobertaBaseModel(tiny_config("roberta"))
    assert base.base_model is base.core
    assert base.get_input_embeddings() is base.core.embeddings.word_embeddings
    assert base._supports_sdpa == type(base.core)._supports_sdpa
    standard = base.standardiseConfig(base.config)
    assert (standard.hidden_size, standard.vocab_size, standard.num_hidden_layers) == (32, VOCAB, 2)
    gpt2 = WRAPPERS["gpt2"][0].standardiseConfig(tiny_config("gpt2"))  # read through GPT-2's attribute_map
    assert (gpt2.hidden_size, gpt2.num_attention_heads, gpt2.context_length) == (32, 4, 64)
    assert WRAPPERS["canine"][0].standardiseConfig(tiny_config("canine")).vocab_size is None


class ForTokenClassificationRightToLeft(ForSingleLabelTokenClassification):
    """Overrides only the seam between base model and head: reads each sequence backwards."""

    def callBaseModel(self, input_ids, attention_mask, do_drop_intermediates, **kwargs):
        output, mask = super().callBaseModel(
            input_ids.flip(1), attention_mask.flip(1), do_drop_intermediates, **kwargs
        )
        output.last_hidden_state = output.last_hidden_state.flip(1)
        return output, mask.flip(1)


def test_forward_calls_the_base_model_through_the_overridable_seam():
    torch.manual_seed(0)
    model = ForTokenClassificationRightToLeft.fromModelAndHeadConfig(
        RobertaBaseModel(tiny_config("roberta")), TokenClassificationHeadConfig(num_labels=3)
    ).eval()
    input_ids, attention_mask = example_batch()
    labels = labels_for(ForSingleLabelTokenClassification, input_ids, attention_mask)
    with torch.no_grad():
        output = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
        backwards = model.model(input_ids=input_ids.flip(1), attention_mask=attention_mask.flip(1))
        expected = model.head.classifier(backwards.last_hidden_state.flip(1))
    assert torch.equal(output.logits, expected)
    assert output.loss.item() == pytest.approx(
        torch.nn.functional.cross_entropy(expected.reshape(-1, 3), labels.reshape(-1)).item()
    )
