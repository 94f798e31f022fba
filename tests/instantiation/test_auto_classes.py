"""Checkpoints saved by this package load through transformers' auto classes, and base classes load their tasks."""

import pytest
import torch
import transformers
from conftest import example_batch, tiny_config

from archit_codemod.instantiation.abstracts import ModelWithHead
from archit_codemod.instantiation.basemodels import AutoBaseModel
from archit_codemod.instantiation.heads import (
    CausalLMHeadConfig,
    MaskedLMHeadConfig,
    SequenceClassificationHeadConfig,
    TokenClassificationHeadConfig,
)
from archit_codemod.instantiation.tasks import (
    ForCausalLM,
    ForMaskedLM,
    ForMultiLabelSequenceClassification,
    ForSequenceClassification,
    ForSequenceRegression,
    ForSingleLabelSequenceClassification,
    ForSingleLabelTokenClassification,
)

CASES = [
    (ForSingleLabelTokenClassification, TokenClassificationHeadConfig(num_labels=3), "AutoModelForTokenClassification"),
    (ForSingleLabelSequenceClassification, SequenceClassificationHeadConfig(num_labels=3), "AutoModelForSequenceClassification"),
    (ForMultiLabelSequenceClassification, SequenceClassificationHeadConfig(num_labels=3), "AutoModelForSequenceClassification"),
    (ForSequenceRegression, SequenceClassificationHeadConfig(num_labels=1), "AutoModelForSequenceClassification"),
    (ForMaskedLM, MaskedLMHeadConfig(), "AutoModelForMaskedLM"),
    (ForCausalLM, CausalLMHeadConfig(), "AutoModelForCausalLM"),
]  # fmt: skip


@pytest.mark.parametrize("task, head_config, auto_class", CASES, ids=[case[0].__name__ for case in CASES])
def test_auto_classes_and_base_classes_rebuild_the_task_that_saved_the_checkpoint(
    task, head_config, auto_class, tmp_path
):
    torch.manual_seed(0)
    model = task.fromModelAndHeadConfig(AutoBaseModel(tiny_config("roberta")), head_config).eval()
    model.save_pretrained(tmp_path)
    assert type(transformers.AutoConfig.from_pretrained(tmp_path)).__name__ == "CombinedConfig"
    input_ids, attention_mask = example_batch()
    with torch.no_grad():
        expected = model(input_ids=input_ids, attention_mask=attention_mask).logits
    for loader in (getattr(transformers, auto_class), transformers.AutoModel, ModelWithHead):
        loaded = loader.from_pretrained(tmp_path).eval()
        assert type(loaded) is task, loader
        assert all(torch.equal(value, model.state_dict()[key]) for key, value in loaded.state_dict().items())
        with torch.no_grad():
            logits = loaded(input_ids=input_ids, attention_mask=attention_mask).logits
        # The same weights (above) and the same operations, but not bitwise the same logits: the loaded weights stay
        # at their offsets in the safetensors file (addresses 4-byte aligned only), the saved model's are freshly
        # allocated (aligned), and the CPU kernel of a matrix-vector product (a one-output linear layer, as
        # regression's) sums an unaligned row in another order. The last bits may differ (by about 1e-10 on logits of
        # about 1e-3 here): the tolerance admits rounding, and nothing a wrong weight or operation would give.
        torch.testing.assert_close(logits, expected, rtol=1e-6, atol=1e-7)


def test_sequence_classification_tasks_record_their_problem_type_for_pipelines():
    base = AutoBaseModel(tiny_config("roberta"))
    problem_types = {
        task: task.fromModelAndHeadConfig(
            base, SequenceClassificationHeadConfig(num_labels=2)
        ).config.problem_type
        for task in (
            ForSingleLabelSequenceClassification,
            ForMultiLabelSequenceClassification,
            ForSequenceRegression,
        )
    }
    assert problem_types == {
        ForSingleLabelSequenceClassification: "single_label_classification",
        ForMultiLabelSequenceClassification: "multi_label_classification",
        ForSequenceRegression: "regression",
    }


def test_a_task_still_refuses_the_checkpoint_of_a_sibling_task(tmp_path):
    model = ForSequenceRegression.fromModelAndHeadConfig(
        AutoBaseModel(tiny_config("roberta")), SequenceClassificationHeadConfig(num_labels=1)
    )
    model.save_pretrained(tmp_path)
    assert type(ForSequenceClassification.from_pretrained(tmp_path)) is ForSequenceRegression
    with pytest.raises(ValueError, match="saved by .*ForSequenceRegression"):
        ForSingleLabelSequenceClassification.from_pretrained(tmp_path)


def test_labels_follow_the_head():
    model = ForSingleLabelTokenClassification.fromModelAndHeadConfig(
        AutoBaseModel(tiny_config("bert")), TokenClassificationHeadConfig(num_labels=4)
    )
    assert model.config.num_labels == 4
    assert model.config.id2label == {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2", 3: "LABEL_3"}


@pytest.mark.skipif(
    not hasattr(transformers, "NemotronHConfig"), reason="NemotronH is not in transformers 4.57"
)
def test_a_base_config_checked_by_its_own_rules_saves(tmp_path):
    """NemotronH's layer types ("mlp", "moe") are valid by its config class's rules, not by the generic ones that
    transformers 5 checks before saving: the combined config is checked by the base config's rules."""
    config = transformers.NemotronHConfig(
        vocab_size=99, hidden_size=32, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=4, head_dim=8,
        intermediate_size=64, mamba_num_heads=4, mamba_head_dim=16, n_routed_experts=4, moe_intermediate_size=32,
        num_experts_per_tok=2, n_group=1, topk_group=1, max_position_embeddings=64,
    )  # fmt: skip
    assert "mlp" in config.layer_types
    model = ForSingleLabelTokenClassification.fromModelAndHeadConfig(
        AutoBaseModel(config), TokenClassificationHeadConfig(num_labels=3)
    ).eval()
    model.save_pretrained(tmp_path)
    loaded = ForSingleLabelTokenClassification.from_pretrained(tmp_path)
    assert loaded.config.base_model_config.layer_types == config.layer_types
    expected = model.state_dict()
    assert all(torch.equal(value, expected[key]) for key, value in loaded.state_dict().items())
