"""replaceHead resets the head in place and keeps the base model, as timm's reset_classifier; a head of another task
is another model, built around the same base model with fromModelAndHeadConfig."""

import pytest
import torch
from conftest import example_batch, tiny_config

from archit_codemod.instantiation.basemodels import AutoBaseModel
from archit_codemod.instantiation.heads import (
    MaskedLMHeadConfig,
    SequenceClassificationHeadConfig,
    TokenClassificationHeadConfig,
)
from archit_codemod.instantiation.tasks import (
    ForMaskedLM,
    ForSequenceRegression,
    ForSingleLabelSequenceClassification,
    ForSingleLabelTokenClassification,
)


def classifier(num_labels: int = 5) -> ForSingleLabelSequenceClassification:
    torch.manual_seed(0)
    return ForSingleLabelSequenceClassification.fromModelAndHeadConfig(
        AutoBaseModel(tiny_config("roberta")), SequenceClassificationHeadConfig(num_labels=num_labels)
    ).eval()


def test_a_new_label_count_gets_a_new_head_on_the_same_base_model(tmp_path):
    model = classifier(num_labels=5)
    base_weights = {key: value.clone() for key, value in model.model.state_dict().items()}
    input_ids, attention_mask = example_batch()
    with torch.no_grad():
        base_output = model(
            input_ids=input_ids, attention_mask=attention_mask
        ).base_model_output.last_hidden_state

    assert model.replaceHead(SequenceClassificationHeadConfig(num_labels=3)) is model
    assert model.head.out_proj.out_features == 3
    assert model.config.head_config == SequenceClassificationHeadConfig(num_labels=3)
    assert (model.config.num_labels, len(model.config.id2label)) == (3, 3)
    assert all(torch.equal(value, base_weights[key]) for key, value in model.model.state_dict().items())
    with torch.no_grad():
        output = model(input_ids=input_ids, attention_mask=attention_mask, labels=torch.tensor([0, 2]))
    assert output.logits.shape == (2, 3)
    assert torch.equal(output.base_model_output.last_hidden_state, base_output)
    assert 0.0 < model.head.out_proj.weight.std() < 0.05  # initialised as heads are: normal(0, 0.02)

    model.save_pretrained(tmp_path)
    loaded = ForSingleLabelSequenceClassification.from_pretrained(tmp_path).eval()
    assert loaded.config.head_config == SequenceClassificationHeadConfig(num_labels=3)
    with torch.no_grad():
        assert torch.equal(loaded(input_ids=input_ids, attention_mask=attention_mask).logits, output.logits)


def test_a_model_of_another_task_is_built_around_the_same_base_model():
    model = classifier()
    regression = ForSequenceRegression.fromModelAndHeadConfig(
        model.model, SequenceClassificationHeadConfig(num_labels=1)
    )
    assert type(regression) is ForSequenceRegression
    assert regression.model is model.model
    assert regression.config.problem_type == "regression"
    assert model.config.problem_type == "single_label_classification"  # the first model is as it was
    input_ids, attention_mask = example_batch()
    loss = regression(
        input_ids=input_ids, attention_mask=attention_mask, labels=torch.tensor([0.5, -1.0])
    ).loss
    assert loss.ndim == 0 and torch.isfinite(loss)


def test_replace_head_has_one_behaviour_and_names_the_call_for_another_task():
    model = classifier(num_labels=5)
    with pytest.raises(
        TypeError,
        match=r"in place.*Fix: ForSequenceRegression\.fromModelAndHeadConfig\(model\.model, head_config\)",
    ):
        model.replaceHead(SequenceClassificationHeadConfig(num_labels=1), task=ForSequenceRegression)
    assert type(model) is ForSingleLabelSequenceClassification
    assert model.head.out_proj.out_features == 5  # nothing was replaced


def test_a_language_modelling_head_is_tied_again():
    torch.manual_seed(0)
    model = ForMaskedLM.fromModelAndHeadConfig(
        AutoBaseModel(tiny_config("bert")), MaskedLMHeadConfig(tie_weights=False)
    )
    embeddings = model.get_input_embeddings().weight
    assert model.head.decoder.weight is not embeddings
    model.replaceHead(MaskedLMHeadConfig(tie_weights=True, layer_norm_eps=1e-12))
    assert model.head.decoder.weight is embeddings
    assert model.head.layer_norm.eps == 1e-12
    assert model.config.tie_word_embeddings is True


def test_a_head_config_of_another_family_is_refused_with_the_fix():
    model = classifier()
    with pytest.raises(
        TypeError, match="needs a SequenceClassificationHeadConfig.*Fix.*fromModelAndHeadConfig"
    ):
        model.replaceHead(TokenClassificationHeadConfig(num_labels=3))
    tagger = ForSingleLabelTokenClassification.fromModelAndHeadConfig(
        model.model, TokenClassificationHeadConfig(num_labels=3)
    )
    assert type(tagger) is ForSingleLabelTokenClassification
