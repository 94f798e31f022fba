"""The config objects a user hands in are never written to: every path that takes one leaves its ``to_dict()`` (and
a head config's fields) as they were. What a model must change, it changes in a copy of its own."""

import copy

import torch
import transformers
from conftest import example_batch, tiny_config

from archit_codemod.instantiation.basemodels import AutoBaseModel
from archit_codemod.instantiation.configs import CombinedConfig
from archit_codemod.instantiation.heads import (
    SequenceClassificationHeadConfig,
    TokenClassificationHeadConfig,
)
from archit_codemod.instantiation.tasks import (
    ForSequenceRegression,
    ForSingleLabelSequenceClassification,
    ForSingleLabelTokenClassification,
)
from archit_codemod.util import import_path


class Unchanged:
    """Remembers a config's values; ``assert_unchanged()`` fails naming the keys that changed."""

    def __init__(self, config):
        self.config = config
        self.before = self._values()

    def _values(self):
        if isinstance(self.config, transformers.PretrainedConfig):
            return copy.deepcopy(self.config.to_dict())
        return copy.deepcopy(self.config)  # a head config: a dataclass, compared field by field

    def assert_unchanged(self):
        after = self._values()
        if isinstance(after, dict):
            changed = {
                key: (self.before.get(key), after.get(key))
                for key in set(self.before) | set(after)
                if self.before.get(key) != after.get(key)
            }
            assert not changed, f"{type(self.config).__name__} was written to: {changed}"
        else:
            assert after == self.before


def combined_config_without_task(head_config) -> CombinedConfig:
    """A combined config as a user writes one: no task class and no problem type (the task fills those in)."""
    return CombinedConfig(
        base_model_config=tiny_config("roberta"),
        head_config=head_config,
        base_model_class=import_path(AutoBaseModel),
    )


def test_the_constructor_does_not_write_into_the_config_it_is_given():
    config = combined_config_without_task(SequenceClassificationHeadConfig(num_labels=1))
    watched = [Unchanged(config), Unchanged(config.head_config)]
    model = ForSequenceRegression(config)
    for unchanged in watched:
        unchanged.assert_unchanged()
    # ... and the model's own config says what was filled in
    assert model.config.model_with_head_class == import_path(ForSequenceRegression)
    assert model.config.problem_type == "regression"
    assert config.model_with_head_class is None and config.problem_type is None


def test_a_base_model_built_from_part_of_the_config_does_not_rewrite_it():
    """AutoBaseModel wraps the encoder of an EncoderDecoderModel, with the encoder's config: the model's combined config
    describes what was built, the user's still describes what they gave."""
    bert = tiny_config("bert")
    encoder_decoder = transformers.EncoderDecoderConfig.from_encoder_decoder_configs(
        bert, transformers.BertConfig(**{**bert.to_dict(), "is_decoder": True, "add_cross_attention": True})
    )
    config = CombinedConfig(
        base_model_config=encoder_decoder,
        head_config=TokenClassificationHeadConfig(num_labels=3),
        base_model_class=import_path(AutoBaseModel),
        model_with_head_class=import_path(ForSingleLabelTokenClassification),
    )
    unchanged = Unchanged(config)
    model = ForSingleLabelTokenClassification(config)
    unchanged.assert_unchanged()
    assert config.base_model_config is encoder_decoder
    assert model.config.base_model_config is model.model.config
    assert type(model.model.config).__name__ == "BertConfig"


def test_from_model_and_head_config_writes_into_neither():
    base_model = AutoBaseModel(tiny_config("roberta"))
    head_config = SequenceClassificationHeadConfig(num_labels=3)
    watched = [Unchanged(base_model.config), Unchanged(head_config)]
    ForSingleLabelSequenceClassification.fromModelAndHeadConfig(base_model, head_config)
    for unchanged in watched:
        unchanged.assert_unchanged()


def test_from_pretrained_with_a_config_leaves_it_as_it_was(tmp_path):
    torch.manual_seed(0)
    ForSequenceRegression.fromModelAndHeadConfig(
        AutoBaseModel(tiny_config("roberta")), SequenceClassificationHeadConfig(num_labels=1)
    ).save_pretrained(tmp_path)
    config = CombinedConfig.from_pretrained(tmp_path)
    unchanged = Unchanged(config)
    ForSequenceRegression.from_pretrained(tmp_path, config=config)
    transformers.AutoModelForSequenceClassification.from_pretrained(tmp_path, config=config)
    unchanged.assert_unchanged()


def test_from_pretrained_of_a_transformers_checkpoint_leaves_the_configs_as_they_were(tmp_path):
    torch.manual_seed(0)
    transformers.RobertaModel(tiny_config("roberta")).save_pretrained(tmp_path)
    base_config = transformers.AutoConfig.from_pretrained(tmp_path)
    head_config = TokenClassificationHeadConfig(num_labels=3)
    watched = [Unchanged(base_config), Unchanged(head_config)]
    ForSingleLabelTokenClassification.from_pretrained(
        tmp_path, AutoBaseModel, head_config, config=base_config
    )
    for unchanged in watched:
        unchanged.assert_unchanged()


def test_replace_head_leaves_the_config_the_model_was_built_with_as_it_was():
    config = CombinedConfig(
        base_model_config=tiny_config("roberta"),
        head_config=SequenceClassificationHeadConfig(num_labels=5),
        base_model_class=import_path(AutoBaseModel),
        model_with_head_class=import_path(ForSingleLabelSequenceClassification),
    )
    model = ForSingleLabelSequenceClassification(config).eval()
    new_head_config = SequenceClassificationHeadConfig(num_labels=3)
    watched = [Unchanged(config), Unchanged(config.head_config), Unchanged(new_head_config)]
    model.replaceHead(new_head_config)
    for unchanged in watched:
        unchanged.assert_unchanged()
    assert model.config.head_config == new_head_config
    assert model.config.num_labels == 3
    input_ids, attention_mask = example_batch()
    with torch.no_grad():
        assert model(input_ids=input_ids, attention_mask=attention_mask).logits.shape == (2, 3)
