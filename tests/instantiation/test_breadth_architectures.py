"""AutoBaseModel on tiny configs of 15 architectures (and BART, whose encoder runs inside the full model).

For each: build from the config, forward, finite loss, gradients reaching base and head; ``from_pretrained`` from
a saved transformers checkpoint with base outputs EXACTLY equal to transformers' own model's; the config read in
the standard form; and a save/load round trip of the model with head.
"""

import math

import pytest
import torch
import transformers
from breadth_tiny_models import ARCHITECTURES, CONTEXT, PAD, VOCAB, example_input_ids, save_base_checkpoint

from archit_codemod.instantiation.basemodels import AutoBaseModel
from archit_codemod.instantiation.heads import CausalLMHeadConfig, TokenClassificationHeadConfig
from archit_codemod.instantiation.tasks import ForCausalLM, ForSingleLabelTokenClassification

NAMES = [architecture.name for architecture in ARCHITECTURES]

# What each tiny config says, written out by hand: (vocab_size, context_length).
EXPECTED_VOCABULARY_AND_CONTEXT = {
    "bert": (VOCAB, CONTEXT),
    "roberta": (VOCAB, CONTEXT - PAD - 1),  # positions start after the padding index
    "xlm-roberta": (VOCAB, CONTEXT - PAD - 1),
    "distilbert": (VOCAB, CONTEXT),
    "albert": (VOCAB, CONTEXT),
    "electra": (VOCAB, CONTEXT),
    "deberta": (VOCAB, CONTEXT),
    "deberta-v2": (VOCAB, CONTEXT),
    "modernbert": (VOCAB, CONTEXT),
    "canine": (None, CONTEXT * 4),  # code points, no vocabulary
    "gpt2": (VOCAB, CONTEXT),
    "llama": (VOCAB, CONTEXT),
    "qwen2": (VOCAB, CONTEXT),
    "mistral": (VOCAB, CONTEXT),
    "t5-encoder": (VOCAB, None),  # relative positions: no fixed limit
}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """One saved transformers base model per architecture (T5: the whole encoder-decoder)."""
    return {
        architecture.name: save_base_checkpoint(architecture, tmp_path_factory.mktemp(architecture.name))
        for architecture in ARCHITECTURES
    }


def _architecture(name):
    return next(architecture for architecture in ARCHITECTURES if architecture.name == name)


@pytest.mark.parametrize("name", NAMES)
def test_build_forward_loss_backward(name):
    architecture = _architecture(name)
    torch.manual_seed(0)
    model = ForSingleLabelTokenClassification.fromModelAndHeadConfig(
        AutoBaseModel(architecture.make_config()), TokenClassificationHeadConfig(num_labels=3)
    )
    input_ids, attention_mask = example_input_ids()
    labels = torch.randint(0, 3, input_ids.shape)
    labels[attention_mask == 0] = -100
    output = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
    assert output.logits.shape == (2, 7, 3)
    assert torch.isfinite(output.loss)
    # An untrained 3-way classifier starts near the uniform guess's loss.
    assert abs(output.loss.item() - math.log(3)) < 0.5
    output.loss.backward()
    assert model.head.classifier.weight.grad.abs().sum() > 0
    first_base_parameter = next(
        model.model.parameters()
    )  # the (first) embedding matrix: the farthest from the loss
    assert first_base_parameter.grad is not None and first_base_parameter.grad.abs().sum() > 0


@pytest.mark.parametrize("name", NAMES)
def test_from_transformers_checkpoint_gives_exactly_the_transformers_outputs(name, checkpoints):
    architecture = _architecture(name)
    reference = architecture.reference_class.from_pretrained(checkpoints[name]).eval()
    model = ForSingleLabelTokenClassification.from_pretrained(
        checkpoints[name], AutoBaseModel, TokenClassificationHeadConfig(num_labels=3)
    ).eval()
    assert type(model.model.core) is architecture.reference_class
    input_ids, attention_mask = example_input_ids()
    with torch.no_grad():
        expected = reference(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        ours = model(input_ids=input_ids, attention_mask=attention_mask).base_model_output.last_hidden_state
    assert torch.equal(ours, expected)


@pytest.mark.parametrize("name", NAMES)
def test_config_is_read_in_the_standard_form(name):
    standard = AutoBaseModel.standardiseConfig(_architecture(name).make_config())
    assert (standard.hidden_size, standard.num_hidden_layers, standard.num_attention_heads) == (32, 2, 4)
    assert (standard.vocab_size, standard.context_length) == EXPECTED_VOCABULARY_AND_CONTEXT[name]
    assert 0.0 <= standard.hidden_dropout_prob < 1.0


@pytest.mark.parametrize("name", NAMES)
def test_save_and_load_round_trip_is_exact(name, checkpoints, tmp_path):
    model = ForSingleLabelTokenClassification.from_pretrained(
        checkpoints[name], AutoBaseModel, TokenClassificationHeadConfig(num_labels=3)
    ).eval()
    model.save_pretrained(tmp_path)
    loaded = ForSingleLabelTokenClassification.from_pretrained(tmp_path).eval()
    assert isinstance(loaded.model, AutoBaseModel)
    input_ids, attention_mask = example_input_ids()
    with torch.no_grad():
        assert torch.equal(
            loaded(input_ids=input_ids, attention_mask=attention_mask).logits,
            model(input_ids=input_ids, attention_mask=attention_mask).logits,
        )


@pytest.mark.parametrize("name", [a.name for a in ARCHITECTURES if a.is_decoder])
def test_decoders_train_as_causal_language_models(name, checkpoints):
    model = ForCausalLM.from_pretrained(
        checkpoints[name], AutoBaseModel, CausalLMHeadConfig(tie_weights=False)
    )
    input_ids, attention_mask = example_input_ids()
    output = model(input_ids=input_ids, attention_mask=attention_mask, labels=input_ids)
    assert output.logits.shape == (2, 7, VOCAB)
    assert abs(output.loss.item() - math.log(VOCAB)) < 1.0  # untrained: close to a uniform guess
    output.loss.backward()
    assert model.head.lm_head.weight.grad.abs().sum() > 0


def test_encoder_of_a_full_encoder_decoder_model(tmp_path):
    """BART has no encoder-only class in transformers' text-encoding mapping: its BartEncoder is the core, loaded out
    of the full checkpoint. Its config holds generation parameters (forced_eos_token_id=2 by default), which must not
    leak into our config and block save_pretrained."""
    config = transformers.BartConfig(
        vocab_size=VOCAB, d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
        decoder_attention_heads=4, encoder_ffn_dim=37, decoder_ffn_dim=37, max_position_embeddings=CONTEXT,
        pad_token_id=PAD, bos_token_id=1, eos_token_id=2, decoder_start_token_id=2,
    )  # fmt: skip
    torch.manual_seed(0)
    transformers.BartModel(config).save_pretrained(tmp_path / "bart")
    reference = transformers.BartModel.from_pretrained(tmp_path / "bart").eval()
    model = ForSingleLabelTokenClassification.from_pretrained(
        tmp_path / "bart", AutoBaseModel, TokenClassificationHeadConfig(num_labels=3)
    ).eval()
    assert type(model.model.core) is transformers.models.bart.modeling_bart.BartEncoder
    assert not any("decoder" in name for name in model.state_dict())
    input_ids, attention_mask = example_input_ids()
    with torch.no_grad():
        expected = reference.get_encoder()(
            input_ids=input_ids, attention_mask=attention_mask
        ).last_hidden_state
        ours = model(input_ids=input_ids, attention_mask=attention_mask).base_model_output.last_hidden_state
    assert torch.equal(ours, expected)

    assert model.config.base_model_config.forced_eos_token_id == 2  # the base config keeps its value
    model.save_pretrained(tmp_path / "ours")
    loaded = ForSingleLabelTokenClassification.from_pretrained(tmp_path / "ours").eval()
    assert loaded.config.base_model_config.forced_eos_token_id == 2
    with torch.no_grad():
        assert torch.equal(
            loaded(input_ids=input_ids, attention_mask=attention_mask).logits,
            model(input_ids=input_ids, attention_mask=attention_mask).logits,
        )


def test_a_config_without_a_needed_value_is_a_clear_error():
    config = transformers.PretrainedConfig(hidden_size=32, num_attention_heads=4, vocab_size=VOCAB)
    with pytest.raises(ValueError, match=r"num_hidden_layers \(looked for num_hidden_layers, n_layer"):
        AutoBaseModel.standardiseConfig(config)


def test_an_attention_free_architecture_has_no_attention_heads():
    config = transformers.MambaConfig(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, state_size=4)
    standard = AutoBaseModel.standardiseConfig(config)
    assert (standard.hidden_size, standard.num_hidden_layers, standard.num_attention_heads) == (32, 2, None)
    model = ForSingleLabelTokenClassification.fromModelAndHeadConfig(
        AutoBaseModel(config), TokenClassificationHeadConfig(num_labels=3)
    )
    input_ids, attention_mask = example_input_ids()
    assert model(input_ids=input_ids, attention_mask=attention_mask).logits.shape == (2, 7, 3)


def test_a_config_automodel_does_not_know_is_a_clear_error():
    class UnknownConfig(transformers.PretrainedConfig):
        model_type = "not-a-transformers-model"

    with pytest.raises(ValueError, match="AutoModel has no model class for UnknownConfig"):
        AutoBaseModel(UnknownConfig())
