"""AutoBaseModel wraps the encoder of an encoder-decoder model, the same module from a config and from a checkpoint.

For T5, mT5, BART and EncoderDecoderModel (BERT to BERT): a checkpoint of the full seq2seq model (with its LM head)
is saved; the wrapper built from the config, the wrapper loaded with AutoBaseModel.from_pretrained and the one
inside a task loaded with ForX.from_pretrained must have the same module tree, hold exactly the encoder's weights of
the checkpoint (no decoder), and give exactly the full model's encoder outputs.
"""

import pytest
import torch
import transformers
from breadth_tiny_models import CONTEXT, PAD, VOCAB, example_input_ids

from archit_codemod.instantiation.basemodels import AutoBaseModel
from archit_codemod.instantiation.heads import TokenClassificationHeadConfig
from archit_codemod.instantiation.tasks import ForSingleLabelTokenClassification

T5_SIZES = dict(vocab_size=VOCAB, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4, pad_token_id=PAD,
                decoder_start_token_id=PAD)  # fmt: skip
BERT_SIZES = dict(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                  max_position_embeddings=CONTEXT, pad_token_id=PAD)  # fmt: skip


def bart_config() -> transformers.BartConfig:
    return transformers.BartConfig(
        vocab_size=VOCAB, d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
        decoder_attention_heads=4, encoder_ffn_dim=37, decoder_ffn_dim=37, max_position_embeddings=CONTEXT,
        pad_token_id=PAD, bos_token_id=1, eos_token_id=2, decoder_start_token_id=2,
    )  # fmt: skip


def bert_to_bert_config() -> transformers.EncoderDecoderConfig:
    return transformers.EncoderDecoderConfig.from_encoder_decoder_configs(
        transformers.BertConfig(**BERT_SIZES), transformers.BertConfig(**BERT_SIZES)
    )


# name -> (config, the full seq2seq class whose checkpoint is loaded, the encoder class AutoBaseModel wraps)
MODELS = {
    "t5": (
        lambda: transformers.T5Config(**T5_SIZES),
        transformers.T5ForConditionalGeneration,
        "T5EncoderModel",
    ),
    "mt5": (
        lambda: transformers.MT5Config(**T5_SIZES),
        transformers.MT5ForConditionalGeneration,
        "MT5EncoderModel",
    ),
    "bart": (bart_config, transformers.BartForConditionalGeneration, "BartEncoder"),
    "encoder-decoder": (bert_to_bert_config, transformers.EncoderDecoderModel, "BertModel"),
}


ENCODER_MODELS = (transformers.T5EncoderModel, transformers.MT5EncoderModel)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, tuple]:
    """name -> (folder of the saved full seq2seq model, its encoder's outputs on example_input_ids)."""
    saved = {}
    input_ids, attention_mask = example_input_ids()
    for name, (make_config, full_class, _) in MODELS.items():
        folder = tmp_path_factory.mktemp(name)
        torch.manual_seed(0)
        full_class(make_config()).save_pretrained(folder)
        full = full_class.from_pretrained(folder).eval()
        with torch.no_grad():
            expected = full.get_encoder()(
                input_ids=input_ids, attention_mask=attention_mask
            ).last_hidden_state
        encoder_weights = {key: value.clone() for key, value in full.get_encoder().state_dict().items()}
        saved[name] = (folder, expected, encoder_weights)
    return saved


def tree(module: torch.nn.Module) -> dict[str, tuple]:
    return {name: (type(sub).__name__, tuple(p.shape for p in sub.parameters(recurse=False)))
            for name, sub in module.named_modules()}  # fmt: skip


@pytest.mark.parametrize("name", list(MODELS))
def test_from_config_and_from_checkpoint_give_the_same_encoder(name, checkpoints):
    make_config, _, encoder_class = MODELS[name]
    folder, expected, encoder_weights = checkpoints[name]
    from_config = AutoBaseModel(make_config())
    from_checkpoint = AutoBaseModel.from_pretrained(folder).eval()
    in_task = ForSingleLabelTokenClassification.from_pretrained(
        folder, AutoBaseModel, TokenClassificationHeadConfig(num_labels=3)
    ).eval()
    assert type(from_config.core).__name__ == encoder_class
    assert tree(from_config) == tree(from_checkpoint) == tree(in_task.model)
    assert type(from_config.config) is type(from_checkpoint.config) is type(in_task.model.config)
    assert not any("decoder" in key for key in from_checkpoint.state_dict())

    for loaded in (from_checkpoint, in_task.model):
        # T5EncoderModel holds the T5Stack that the full model's get_encoder() returns; the others are that module.
        encoder = loaded.core.encoder if isinstance(loaded.core, ENCODER_MODELS) else loaded.core
        weights = encoder.state_dict()
        assert weights.keys() == encoder_weights.keys()
        assert all(torch.equal(weights[key], encoder_weights[key]) for key in weights)

    input_ids, attention_mask = example_input_ids()
    with torch.no_grad():
        assert torch.equal(
            from_checkpoint(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state, expected
        )
        in_task_output = in_task(input_ids=input_ids, attention_mask=attention_mask).base_model_output
    assert torch.equal(in_task_output.last_hidden_state, expected)


@pytest.mark.parametrize("name", ["bart", "encoder-decoder"])
def test_the_wrapped_encoder_saves_and_loads_as_itself(name, checkpoints, tmp_path):
    folder, expected, _ = checkpoints[name]
    AutoBaseModel.from_pretrained(folder).save_pretrained(tmp_path / "base")
    ForSingleLabelTokenClassification.from_pretrained(
        folder, AutoBaseModel, TokenClassificationHeadConfig(num_labels=3)
    ).save_pretrained(tmp_path / "task")
    base = AutoBaseModel.from_pretrained(tmp_path / "base").eval()
    task = ForSingleLabelTokenClassification.from_pretrained(tmp_path / "task").eval()
    input_ids, attention_mask = example_input_ids()
    with torch.no_grad():
        assert torch.equal(
            base(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state, expected
        )
        output = task(input_ids=input_ids, attention_mask=attention_mask).base_model_output
    assert torch.equal(output.last_hidden_state, expected)
