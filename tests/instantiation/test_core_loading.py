"""from_pretrained from the three kinds of checkpoint, save/load round trips, refusals, tying and dtypes."""

import copy
import logging
import pickle

import pytest
import torch
import transformers
from conftest import WRAPPERS, example_batch, tiny_config

from archit_codemod.instantiation.basemodels import GPT2BaseModel, RobertaBaseModel
from archit_codemod.instantiation.configs import CombinedConfig
from archit_codemod.instantiation.heads import (
    CausalLMHeadConfig,
    MaskedLMHeadConfig,
    TokenClassificationHeadConfig,
)
from archit_codemod.instantiation.tasks import (
    ForCausalLM,
    ForMaskedLM,
    ForSingleLabelSequenceClassification,
    ForSingleLabelTokenClassification,
)


def base_output(model, input_ids, attention_mask):
    return model.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


def assert_same_state(model_a, model_b):
    state_a, state_b = model_a.state_dict(), model_b.state_dict()
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        assert torch.equal(state_a[key], state_b[key]), key


@pytest.mark.parametrize("architecture", sorted(WRAPPERS))
def test_base_checkpoint_gives_exactly_the_transformers_outputs(architecture, tmp_path):
    wrapper, reference_class = WRAPPERS[architecture]
    torch.manual_seed(0)
    reference_class(tiny_config(architecture)).save_pretrained(tmp_path)
    reference = reference_class.from_pretrained(tmp_path).eval()
    model = ForSingleLabelTokenClassification.from_pretrained(
        tmp_path, wrapper, TokenClassificationHeadConfig(num_labels=3)
    ).eval()

    input_ids, attention_mask = example_batch()
    with torch.no_grad():
        expected = reference(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        assert torch.equal(base_output(model, input_ids, attention_mask), expected)
    assert type(model.model.core) is reference_class


def test_model_with_head_checkpoint_drops_its_head_and_says_which_keys(roberta_mlm_checkpoint, caplog):
    reference = transformers.RobertaForMaskedLM.from_pretrained(roberta_mlm_checkpoint).eval()
    with caplog.at_level(logging.WARNING, logger="archit_codemod"):
        model = ForSingleLabelTokenClassification.from_pretrained(
            roberta_mlm_checkpoint, RobertaBaseModel, TokenClassificationHeadConfig(num_labels=3)
        ).eval()
    message = " ".join(
        record.getMessage() for record in caplog.records if record.name.startswith("archit_codemod")
    )
    assert "Dropped" in message and "lm_head.dense.weight" in message and "lm_head.layer_norm.bias" in message

    input_ids, attention_mask = example_batch()
    with torch.no_grad():
        expected = reference.roberta(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        assert torch.equal(base_output(model, input_ids, attention_mask), expected)


def test_transformers_checkpoint_needs_a_head_config(roberta_base_checkpoint):
    with pytest.raises(ValueError, match=r"needs its config: .*TokenClassificationHeadConfig\(\.\.\.\)"):
        ForSingleLabelTokenClassification.from_pretrained(roberta_base_checkpoint, RobertaBaseModel)


def test_own_checkpoint_round_trip_is_exact(roberta_base_checkpoint, tmp_path):
    model = ForSingleLabelTokenClassification.from_pretrained(
        roberta_base_checkpoint, RobertaBaseModel, TokenClassificationHeadConfig(num_labels=3)
    ).eval()
    model.save_pretrained(tmp_path)
    reloaded = ForSingleLabelTokenClassification.from_pretrained(tmp_path).eval()  # no class, no head config

    assert_same_state(model, reloaded)
    assert reloaded.config.head_config == TokenClassificationHeadConfig(num_labels=3)
    input_ids, attention_mask = example_batch()
    with torch.no_grad():
        assert torch.equal(
            model(input_ids, attention_mask).logits, reloaded(input_ids, attention_mask).logits
        )
    # Base outputs still equal the transformers model's after the second load.
    reference = transformers.RobertaModel.from_pretrained(roberta_base_checkpoint).eval()
    with torch.no_grad():
        expected = reference(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        assert torch.equal(base_output(reloaded, input_ids, attention_mask), expected)


def test_sharded_round_trip_is_exact(tmp_path):
    torch.manual_seed(0)
    model = ForMaskedLM.fromModelAndHeadConfig(
        RobertaBaseModel(tiny_config("roberta")), MaskedLMHeadConfig(tie_weights=False)
    ).eval()
    model.save_pretrained(tmp_path, max_shard_size="20KB")
    assert len(list(tmp_path.glob("*.safetensors"))) > 1
    assert_same_state(model, ForMaskedLM.from_pretrained(tmp_path))


def test_checkpoint_of_another_task_is_refused_naming_both(tmp_path):
    model = ForSingleLabelTokenClassification.fromModelAndHeadConfig(
        RobertaBaseModel(tiny_config("roberta")), TokenClassificationHeadConfig(num_labels=3)
    )
    model.save_pretrained(tmp_path)
    # Same head field names would fit (dropout, classifier vs. out_proj) is not the point: the task differs.
    with pytest.raises(
        ValueError, match=r"saved by .*ForSingleLabelTokenClassification, not by .*ForMaskedLM"
    ):
        ForMaskedLM.from_pretrained(tmp_path)
    with pytest.raises(
        ValueError, match=r"ForSingleLabelTokenClassification.*ForSingleLabelSequenceClassification"
    ):
        ForSingleLabelSequenceClassification.from_pretrained(tmp_path)


def test_contradicting_head_config_is_refused(tmp_path):
    ForSingleLabelTokenClassification.fromModelAndHeadConfig(
        RobertaBaseModel(tiny_config("roberta")), TokenClassificationHeadConfig(num_labels=3)
    ).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match=r"num_labels=5 \(checkpoint: 3\)"):
        ForSingleLabelTokenClassification.from_pretrained(
            tmp_path, RobertaBaseModel, TokenClassificationHeadConfig(num_labels=5)
        )
    agreeing = ForSingleLabelTokenClassification.from_pretrained(
        tmp_path, RobertaBaseModel, TokenClassificationHeadConfig(num_labels=3)
    )
    assert agreeing.head.classifier.out_features == 3


def test_other_base_model_class_than_saved_is_refused(tmp_path):
    ForSingleLabelTokenClassification.fromModelAndHeadConfig(
        RobertaBaseModel(tiny_config("roberta")), TokenClassificationHeadConfig(num_labels=3)
    ).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="holds a .*RobertaBaseModel, not a .*GPT2BaseModel"):
        ForSingleLabelTokenClassification.from_pretrained(tmp_path, GPT2BaseModel)


@pytest.mark.parametrize(
    ("task", "wrapper", "architecture", "head_config", "embeddings"),
    [
        (ForMaskedLM, RobertaBaseModel, "roberta", MaskedLMHeadConfig(), "embeddings.word_embeddings"),
        (ForCausalLM, GPT2BaseModel, "gpt2", CausalLMHeadConfig(), "wte"),
    ],
)
def test_tying_survives_a_round_trip(task, wrapper, architecture, head_config, embeddings, tmp_path):
    torch.manual_seed(0)
    model = task.fromModelAndHeadConfig(wrapper(tiny_config(architecture)), head_config)
    model.save_pretrained(tmp_path)
    reloaded = task.from_pretrained(tmp_path)

    input_embeddings = reloaded.model.core.get_submodule(embeddings).weight
    output_embeddings = reloaded.get_output_embeddings().weight
    assert output_embeddings is input_embeddings
    assert torch.equal(input_embeddings, model.model.core.get_submodule(embeddings).weight)
    with torch.no_grad():
        input_embeddings[5, 3] += 1.0
    assert output_embeddings[5, 3] == input_embeddings[5, 3]
    # And training keeps them one parameter.
    optimizer = torch.optim.SGD(reloaded.parameters(), lr=0.1)
    input_ids, attention_mask = example_batch()
    reloaded(input_ids, attention_mask, labels=input_ids).loss.backward()
    optimizer.step()
    assert reloaded.get_output_embeddings().weight is reloaded.get_input_embeddings().weight


def test_untied_head_stays_untied_after_a_round_trip(tmp_path):
    torch.manual_seed(0)
    model = ForMaskedLM.fromModelAndHeadConfig(
        RobertaBaseModel(tiny_config("roberta")), MaskedLMHeadConfig(tie_weights=False)
    )
    assert model.head.decoder.weight is not model.model.get_input_embeddings().weight
    model.save_pretrained(tmp_path)
    reloaded = ForMaskedLM.from_pretrained(tmp_path)
    assert reloaded.head.decoder.weight is not reloaded.model.get_input_embeddings().weight
    assert_same_state(model, reloaded)


@pytest.mark.parametrize(
    ("task", "head_config", "projection"),
    [(ForMaskedLM, MaskedLMHeadConfig(), "decoder"), (ForCausalLM, CausalLMHeadConfig(), "lm_head")],
)
def test_a_tied_projection_is_never_given_a_weight_of_its_own(task, head_config, projection, monkeypatch):
    """The tied projection's weight is built on meta and replaced by the embeddings; no random vocabulary matrix is
    drawn. Checked by counting the elements torch's initialisers receive."""
    drawn = []
    for name in ("normal_", "uniform_", "kaiming_uniform_"):
        original = getattr(torch.nn.init, name)

        def counting(tensor, *args, _original=original, **kwargs):
            drawn.append(tensor.numel() if not tensor.is_meta else 0)
            return _original(tensor, *args, **kwargs)

        monkeypatch.setattr(torch.nn.init, name, counting)
    base = RobertaBaseModel(tiny_config("roberta"))
    embeddings = base.get_input_embeddings().weight
    drawn.clear()
    model = task.fromModelAndHeadConfig(base, head_config)

    layer = getattr(model.head, projection)
    assert layer.weight is embeddings
    assert not any(tensor.is_meta for tensor in [*model.parameters(), *model.buffers()])
    assert embeddings.numel() not in drawn
    if layer.bias is not None:
        assert torch.equal(layer.bias, torch.zeros_like(layer.bias))


def test_a_projection_left_untied_by_post_init_gets_an_initialised_weight(monkeypatch):
    """If transformers does not tie (here: tie_weights does nothing), the projection still gets a weight of its own,
    on the base model's device, initialised as the head's other weights are."""
    monkeypatch.setattr(ForCausalLM, "tie_weights", lambda self, *args, **kwargs: None)
    torch.manual_seed(0)
    model = ForCausalLM.fromModelAndHeadConfig(RobertaBaseModel(tiny_config("roberta")), CausalLMHeadConfig())

    weight = model.head.lm_head.weight
    assert not weight.is_meta
    assert weight is not model.get_input_embeddings().weight
    assert 0.015 < weight.std().item() < 0.025  # normal(0, 0.02), as initialiseModule draws head weights


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_dtype_passes_through_for_every_kind_of_checkpoint(dtype, roberta_mlm_checkpoint, tmp_path):
    model = ForMaskedLM.from_pretrained(
        roberta_mlm_checkpoint, RobertaBaseModel, MaskedLMHeadConfig(), dtype=dtype
    )
    assert {parameter.dtype for parameter in model.parameters()} == {dtype}
    model.save_pretrained(tmp_path)
    reloaded = ForMaskedLM.from_pretrained(tmp_path, dtype=dtype)
    assert {parameter.dtype for parameter in reloaded.parameters()} == {dtype}
    assert_same_state(model, reloaded)


def test_device_map_passes_through(tmp_path):
    ForSingleLabelTokenClassification.fromModelAndHeadConfig(
        RobertaBaseModel(tiny_config("roberta")), TokenClassificationHeadConfig(num_labels=3)
    ).save_pretrained(tmp_path)
    model = ForSingleLabelTokenClassification.from_pretrained(tmp_path, device_map="cpu")
    assert {parameter.device.type for parameter in model.parameters()} == {"cpu"}


@pytest.mark.parametrize("implementation, other", [("eager", "sdpa"), ("sdpa", "eager")])
def test_attn_implementation_reaches_the_core_for_every_kind_of_checkpoint(
    implementation, other, roberta_base_checkpoint, tmp_path
):
    """The core builds its attention from its own config (RoBERTa on 4.57 even picks its attention classes then),
    so the choice must reach config.base_model_config, also for a checkpoint saved by this package; and the combined
    config, which transformers reads for the whole model, must say the same (not transformers' default)."""
    model = ForSingleLabelTokenClassification.from_pretrained(
        roberta_base_checkpoint,
        RobertaBaseModel,
        TokenClassificationHeadConfig(num_labels=3),
        attn_implementation=implementation,
    ).eval()
    assert model.model.core.config._attn_implementation == implementation
    assert model.config._attn_implementation == implementation
    model.save_pretrained(tmp_path)
    reloaded = ForSingleLabelTokenClassification.from_pretrained(tmp_path, attn_implementation=other).eval()
    assert reloaded.model.core.config is reloaded.config.base_model_config
    assert reloaded.model.core.config._attn_implementation == other
    assert reloaded.config._attn_implementation == other
    input_ids, attention_mask = example_batch()
    with torch.no_grad():  # another kernel, the same function
        torch.testing.assert_close(
            reloaded(input_ids=input_ids, attention_mask=attention_mask).logits,
            model(input_ids=input_ids, attention_mask=attention_mask).logits,
        )


def test_combined_config_round_trips_and_falls_back_to_the_base_config(tmp_path):
    model = ForSingleLabelTokenClassification.fromModelAndHeadConfig(
        RobertaBaseModel(tiny_config("roberta")), TokenClassificationHeadConfig(num_labels=3)
    )
    config = model.config
    assert config.hidden_size == 32 and config.vocab_size == 99  # fall back to base_model_config
    assert config.tie_word_embeddings is False  # follows the head config, not RoBERTa's True
    for duplicate in (copy.deepcopy(config), pickle.loads(pickle.dumps(config))):
        assert duplicate.to_dict() == config.to_dict()
    config.save_pretrained(tmp_path)
    loaded = CombinedConfig.from_pretrained(tmp_path)
    assert loaded.to_dict() == config.to_dict()
    assert type(loaded.base_model_config) is transformers.RobertaConfig
    with pytest.raises(AttributeError):
        loaded.no_such_attribute  # noqa: B018
    with pytest.raises(AttributeError):
        CombinedConfig().hidden_size  # noqa: B018  (no base config: an error, not a recursion)


def test_model_builds_from_its_config_alone():
    model = ForSingleLabelTokenClassification.fromModelAndHeadConfig(
        RobertaBaseModel(tiny_config("roberta")), TokenClassificationHeadConfig(num_labels=3)
    )
    rebuilt = ForSingleLabelTokenClassification(CombinedConfig.from_dict(model.config.to_dict()))
    assert type(rebuilt.model) is RobertaBaseModel
    assert model.state_dict().keys() == rebuilt.state_dict().keys()
