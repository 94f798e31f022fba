"""A transformers model-with-head checkpoint keeps its head when ours computes the same: logits equal exactly."""

import logging

import pytest
import torch
import transformers
from breadth_tiny_models import ARCHITECTURES_BY_NAME, VOCAB, example_input_ids

from archit_codemod.instantiation.basemodels import AutoBaseModel, RobertaBaseModel
from archit_codemod.instantiation.heads import (
    CausalLMHeadConfig,
    ExtractiveQAHeadConfig,
    MaskedLMHeadConfig,
    SequenceClassificationHeadConfig,
    TokenClassificationHead,
    TokenClassificationHeadConfig,
)
from archit_codemod.instantiation.heads.reuse import causalLMWeights
from archit_codemod.instantiation.tasks import (
    ForCausalLM,
    ForExtractiveQA,
    ForMaskedLM,
    ForSingleLabelSequenceClassification,
    ForSingleLabelTokenClassification,
)


def save(model_class, architecture: str, folder, **config_overrides):
    torch.manual_seed(0)
    config = ARCHITECTURES_BY_NAME[architecture].make_config()
    for key, value in config_overrides.items():
        setattr(config, key, value)
    model = model_class(config).eval()
    with torch.no_grad():  # make every bias visible: a bias left out of the mapping would change the logits
        for name, parameter in model.named_parameters():
            if name.endswith("bias"):
                parameter.normal_(0, 0.5)
    model.save_pretrained(folder)
    return model_class.from_pretrained(folder).eval()


def logits_of(model, **inputs):
    with torch.no_grad():
        return model(**inputs).logits


TOKEN_CLASSIFIERS = {
    "bert": transformers.BertForTokenClassification,
    "roberta": transformers.RobertaForTokenClassification,
    "xlm-roberta": transformers.XLMRobertaForTokenClassification,
    "distilbert": transformers.DistilBertForTokenClassification,
    "albert": transformers.AlbertForTokenClassification,
    "electra": transformers.ElectraForTokenClassification,
    "deberta": transformers.DebertaForTokenClassification,
    "deberta-v2": transformers.DebertaV2ForTokenClassification,
    "gpt2": transformers.GPT2ForTokenClassification,
    "llama": transformers.LlamaForTokenClassification,  # `score`, without bias
    "qwen2": transformers.Qwen2ForTokenClassification,
    "mistral": transformers.MistralForTokenClassification,
}


@pytest.mark.parametrize("architecture", sorted(TOKEN_CLASSIFIERS))
def test_token_classifier_is_reused(architecture, tmp_path):
    reference = save(TOKEN_CLASSIFIERS[architecture], architecture, tmp_path, num_labels=5)
    model = ForSingleLabelTokenClassification.from_pretrained(
        tmp_path, AutoBaseModel, TokenClassificationHeadConfig(num_labels=5)
    ).eval()
    input_ids, attention_mask = example_input_ids()
    assert torch.equal(
        logits_of(model, input_ids=input_ids, attention_mask=attention_mask),
        logits_of(reference, input_ids=input_ids, attention_mask=attention_mask),
    )


@pytest.mark.parametrize(
    "architecture, model_class",
    [
        ("bert", transformers.BertForQuestionAnswering),
        ("roberta", transformers.RobertaForQuestionAnswering),
        ("distilbert", transformers.DistilBertForQuestionAnswering),
        ("deberta-v2", transformers.DebertaV2ForQuestionAnswering),
    ],
)
def test_question_answering_head_is_reused(architecture, model_class, tmp_path):
    reference = save(model_class, architecture, tmp_path)
    model = ForExtractiveQA.from_pretrained(tmp_path, AutoBaseModel, ExtractiveQAHeadConfig()).eval()
    input_ids, attention_mask = example_input_ids()
    with torch.no_grad():
        expected = reference(input_ids=input_ids, attention_mask=attention_mask)
    logits = logits_of(model, input_ids=input_ids, attention_mask=attention_mask)
    assert torch.equal(logits[..., 0], expected.start_logits)
    assert torch.equal(logits[..., 1], expected.end_logits)


@pytest.mark.parametrize(
    "architecture, model_class",
    [
        ("roberta", transformers.RobertaForMaskedLM),
        ("xlm-roberta", transformers.XLMRobertaForMaskedLM),
        ("bert", transformers.BertForMaskedLM),
        ("distilbert", transformers.DistilBertForMaskedLM),
    ],
)
def test_untied_masked_lm_head_is_reused(architecture, model_class, tmp_path):
    reference = save(model_class, architecture, tmp_path, tie_word_embeddings=False)
    epsilon = 1e-12  # the tiny configs' layer_norm_eps (transformers' default), and DistilBERT's fixed value
    model = ForMaskedLM.from_pretrained(
        tmp_path, AutoBaseModel, MaskedLMHeadConfig(tie_weights=False, layer_norm_eps=epsilon)
    ).eval()
    input_ids, attention_mask = example_input_ids()
    assert torch.equal(
        logits_of(model, input_ids=input_ids, attention_mask=attention_mask),
        logits_of(reference, input_ids=input_ids, attention_mask=attention_mask),
    )


@pytest.mark.parametrize("architecture", ["llama", "qwen2", "mistral"])
def test_untied_causal_lm_head_is_reused(architecture, tmp_path):
    model_class = {"llama": transformers.LlamaForCausalLM, "qwen2": transformers.Qwen2ForCausalLM}.get(
        architecture, transformers.MistralForCausalLM
    )
    reference = save(model_class, architecture, tmp_path, tie_word_embeddings=False)
    model = ForCausalLM.from_pretrained(tmp_path, AutoBaseModel, CausalLMHeadConfig(tie_weights=False)).eval()
    input_ids, attention_mask = example_input_ids()
    assert torch.equal(
        logits_of(model, input_ids=input_ids, attention_mask=attention_mask),
        logits_of(reference, input_ids=input_ids, attention_mask=attention_mask),
    )


def test_tied_gpt2_head_needs_no_mapping(tmp_path):
    reference = save(transformers.GPT2LMHeadModel, "gpt2", tmp_path)
    model = ForCausalLM.from_pretrained(tmp_path, AutoBaseModel, CausalLMHeadConfig(tie_weights=True)).eval()
    input_ids, attention_mask = example_input_ids()
    assert torch.equal(
        logits_of(model, input_ids=input_ids, attention_mask=attention_mask),
        logits_of(reference, input_ids=input_ids, attention_mask=attention_mask),
    )


def test_a_head_that_does_not_match_is_fresh_and_the_log_says_why(tmp_path, caplog):
    save(transformers.RobertaForMaskedLM, "roberta", tmp_path, tie_word_embeddings=False)
    with caplog.at_level(logging.WARNING):
        model = ForMaskedLM.from_pretrained(
            tmp_path, RobertaBaseModel, MaskedLMHeadConfig(tie_weights=False, layer_norm_eps=1e-5)
        )
    assert "layer norm epsilon is 1e-12, the head config's 1e-05" in caplog.text
    assert "freshly initialised" in caplog.text
    assert torch.equal(model.head.dense.bias, torch.zeros(32))  # fresh: biases start at zero


def test_a_sequence_classifier_of_another_shape_is_not_reused(tmp_path, caplog):
    reference = save(transformers.RobertaForSequenceClassification, "roberta", tmp_path, num_labels=2)
    with caplog.at_level(logging.WARNING):
        model = ForSingleLabelSequenceClassification.from_pretrained(
            tmp_path, AutoBaseModel, SequenceClassificationHeadConfig(num_labels=2)
        )
    assert "classifier.out_proj.weight" in caplog.text  # the dropped weights are named
    assert not torch.equal(model.head.out_proj.weight, reference.classifier.out_proj.weight)


def test_token_classifier_with_other_number_of_labels_is_not_reused(tmp_path, caplog):
    save(transformers.BertForTokenClassification, "bert", tmp_path, num_labels=5)
    with caplog.at_level(logging.WARNING):
        model = ForSingleLabelTokenClassification.from_pretrained(
            tmp_path, AutoBaseModel, TokenClassificationHeadConfig(num_labels=3)
        )
    assert "classifier maps 32 -> 5, ours 32 -> 3" in caplog.text
    assert model.head.classifier.weight.shape == (3, 32)


def test_vocabulary_size_sanity():
    assert ARCHITECTURES_BY_NAME["roberta"].make_config().vocab_size == VOCAB


@pytest.mark.parametrize(
    "architecture, model_class, epsilon",
    [
        ("roberta", transformers.RobertaForMaskedLM, 1e-5),  # MaskedLMHeadConfig's default epsilon
        ("xlm-roberta", transformers.XLMRobertaForMaskedLM, 1e-12),
        ("bert", transformers.BertForMaskedLM, 1e-12),
        ("distilbert", transformers.DistilBertForMaskedLM, 1e-12),
    ],
)
def test_tied_masked_lm_head_is_reused(architecture, model_class, epsilon, tmp_path):
    """Saved the default (tied) way, the checkpoint has no decoder weight: our tied decoder is the loaded embedding
    matrix, and the rest of the head (dense, norm, decoder bias) is mapped."""
    reference = save(model_class, architecture, tmp_path, layer_norm_eps=epsilon)
    assert reference.config.tie_word_embeddings
    model = ForMaskedLM.from_pretrained(
        tmp_path, AutoBaseModel, MaskedLMHeadConfig(tie_weights=True, layer_norm_eps=epsilon)
    ).eval()
    assert model.head.decoder.weight is model.get_input_embeddings().weight
    input_ids, attention_mask = example_input_ids()
    assert torch.equal(
        logits_of(model, input_ids=input_ids, attention_mask=attention_mask),
        logits_of(reference, input_ids=input_ids, attention_mask=attention_mask),
    )


def test_tied_roberta_masked_lm_head_is_reused_by_the_roberta_wrapper(tmp_path):
    reference = save(transformers.RobertaForMaskedLM, "roberta", tmp_path, layer_norm_eps=1e-5)
    model = ForMaskedLM.from_pretrained(
        tmp_path, RobertaBaseModel, MaskedLMHeadConfig(tie_weights=True)
    ).eval()
    input_ids, attention_mask = example_input_ids()
    assert torch.equal(
        logits_of(model, input_ids=input_ids, attention_mask=attention_mask),
        logits_of(reference, input_ids=input_ids, attention_mask=attention_mask),
    )


def test_tied_checkpoint_into_an_untied_head_is_fresh_and_the_log_says_how_to_tie(tmp_path, caplog):
    save(transformers.RobertaForMaskedLM, "roberta", tmp_path, layer_norm_eps=1e-5)
    with caplog.at_level(logging.WARNING):
        model = ForMaskedLM.from_pretrained(tmp_path, RobertaBaseModel, MaskedLMHeadConfig(tie_weights=False))
    assert "use MaskedLMHeadConfig(tie_weights=True)" in caplog.text
    assert torch.equal(model.head.dense.bias, torch.zeros(32))  # fresh


@pytest.mark.parametrize(
    "architecture, model_class",
    [("gpt2", transformers.GPT2LMHeadModel), ("llama", transformers.LlamaForCausalLM)],
)
def test_tied_causal_lm_checkpoint_gives_the_same_logits(architecture, model_class, tmp_path):
    reference = save(model_class, architecture, tmp_path, tie_word_embeddings=True)
    model = ForCausalLM.from_pretrained(tmp_path, AutoBaseModel, CausalLMHeadConfig(tie_weights=True)).eval()
    assert model.head.lm_head.weight is model.get_input_embeddings().weight
    input_ids, attention_mask = example_input_ids()
    assert torch.equal(
        logits_of(model, input_ids=input_ids, attention_mask=attention_mask),
        logits_of(reference, input_ids=input_ids, attention_mask=attention_mask),
    )


def test_a_tied_lm_head_stored_anyway_maps_to_nothing_for_a_tied_head():
    """Old pytorch_model.bin checkpoints store a tied lm_head next to the embeddings: nothing to map, no warning."""
    config = ARCHITECTURES_BY_NAME["gpt2"].make_config()  # tie_word_embeddings defaults to True
    base_config = AutoBaseModel.standardiseConfig(config)
    weights = {"lm_head.weight": torch.zeros(VOCAB, 32)}
    assert causalLMWeights(weights, config, base_config, CausalLMHeadConfig(tie_weights=True)) == {}
    assert causalLMWeights(weights, config, base_config, CausalLMHeadConfig(tie_weights=False)) is None


def _incomplete_mapping(weights, transformers_config, base_config, head_config):
    return {"classifier.weight": weights["classifier.weight"]}  # forgets the bias


class _HeadWithIncompleteMapping(TokenClassificationHead):
    transformers_head_mapping = staticmethod(_incomplete_mapping)


class _ForTokenClassificationWithIncompleteMapping(ForSingleLabelTokenClassification):
    @classmethod
    def headClass(cls):
        return _HeadWithIncompleteMapping


def test_a_mapping_that_leaves_out_an_untied_parameter_is_refused(tmp_path):
    save(transformers.BertForTokenClassification, "bert", tmp_path, num_labels=5)
    with pytest.raises(ValueError, match=r"missing \['classifier.bias'\] \(only parameters tied to the base"):
        _ForTokenClassificationWithIncompleteMapping.from_pretrained(
            tmp_path, AutoBaseModel, TokenClassificationHeadConfig(num_labels=5)
        )


class _TokenClassificationHeadWithOneMoreLayer(TokenClassificationHead):
    """Declares no mapping of its own: its parent's returns no weights for the layer added here."""

    def __init__(self, base_config, head_config):
        super().__init__(base_config, head_config)
        self.rescoring = torch.nn.Linear(head_config.num_labels, head_config.num_labels)

    def forward(self, encoder_output, attention_mask, **kwargs):
        return self.rescoring(super().forward(encoder_output, attention_mask, **kwargs))


class _ForTokenClassificationWithOneMoreLayer(ForSingleLabelTokenClassification):
    @classmethod
    def headClass(cls):
        return _TokenClassificationHeadWithOneMoreLayer


def test_a_subclass_of_a_mapped_head_class_gets_a_fresh_head_unless_it_declares_a_mapping(tmp_path, caplog):
    reference = save(transformers.BertForTokenClassification, "bert", tmp_path, num_labels=5)
    assert _TokenClassificationHeadWithOneMoreLayer.transformersHeadMapping() is None
    with caplog.at_level(logging.WARNING):
        model = _ForTokenClassificationWithOneMoreLayer.from_pretrained(
            tmp_path, AutoBaseModel, TokenClassificationHeadConfig(num_labels=5)
        )
    assert "Dropped 2 weight(s)" in caplog.text and "'classifier.weight'" in caplog.text
    assert not torch.equal(model.head.classifier.weight, reference.classifier.weight)


def test_a_checkpoint_without_a_head_only_reports_the_dropped_pooler(tmp_path, caplog):
    torch.manual_seed(0)
    transformers.RobertaModel(ARCHITECTURES_BY_NAME["roberta"].make_config()).save_pretrained(tmp_path)
    with caplog.at_level(logging.WARNING):
        ForSingleLabelTokenClassification.from_pretrained(
            tmp_path, RobertaBaseModel, TokenClassificationHeadConfig(num_labels=3)
        )
    assert "does not fit" not in caplog.text  # there was no head to fit
    assert "Dropped: ['pooler.dense.bias', 'pooler.dense.weight']" in caplog.text
