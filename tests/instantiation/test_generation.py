"""ForCausalLM generates as transformers' own causal language models do, token for token.

Each reference model (GPT2LMHeadModel, LlamaForCausalLM, Qwen2ForCausalLM) is built from a tiny config, saved, and
loaded both by transformers and by ForCausalLM over AutoBaseModel (whose head reuses the checkpoint's lm_head), so
both hold the same weights. The prompts are a left-padded batch, so attention masks and position ids matter too.
"""

import copy
import logging

import pytest
import torch
import transformers
from breadth_tiny_models import ARCHITECTURES_BY_NAME, VOCAB

from archit_codemod.instantiation.basemodels import AutoBaseModel
from archit_codemod.instantiation.heads import (
    CausalLMHeadConfig,
    MaskedLMHeadConfig,
    TokenClassificationHeadConfig,
)
from archit_codemod.instantiation.outputs import CACHE_NAME
from archit_codemod.instantiation.tasks import (
    ForCausalLM,
    ForMaskedLM,
    ForSingleLabelSequenceClassification,
    ForSingleLabelTokenClassification,
)

REFERENCES = {
    "gpt2": transformers.GPT2LMHeadModel,
    "llama": transformers.LlamaForCausalLM,
    "qwen2": transformers.Qwen2ForCausalLM,
}
DECODING = {
    "greedy": {},
    "sampling": {"do_sample": True, "top_k": 0, "temperature": 1.3},
    "beam search": {"num_beams": 3, "num_return_sequences": 2},
}
NEW_TOKENS = 10


def prompts() -> tuple[torch.Tensor, torch.Tensor]:
    """Two prompts of 6 tokens; the second is left-padded by 2 (pad id 0), as decoder-only generation expects."""
    generator = torch.Generator().manual_seed(1)
    input_ids = torch.randint(3, VOCAB, (2, 6), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    input_ids[1, :2], attention_mask[1, :2] = 0, 0
    return input_ids, attention_mask


@pytest.fixture(scope="module")
def causal_lms(tmp_path_factory) -> dict[str, tuple[transformers.PreTrainedModel, ForCausalLM]]:
    """name -> (the transformers causal LM, ForCausalLM), loaded from the same saved checkpoint."""
    models = {}
    for name, reference_class in REFERENCES.items():
        folder = tmp_path_factory.mktemp(name)
        config = ARCHITECTURES_BY_NAME[name].make_config()
        # Larger weights than the default 0.02 spread make peaked, position-sensitive logits, so that a wrong
        # position id or a lost cache entry changes the tokens instead of hiding in a near-uniform distribution.
        config.initializer_range = 0.5
        torch.manual_seed(0)
        reference_class(config).save_pretrained(folder)
        reference = reference_class.from_pretrained(folder).eval()
        ties = bool(reference.config.tie_word_embeddings)  # GPT-2 ties its lm_head, Llama and Qwen2 do not
        ours = ForCausalLM.from_pretrained(folder, AutoBaseModel, CausalLMHeadConfig(tie_weights=ties)).eval()
        models[name] = (reference, ours)
    return models


@pytest.mark.parametrize("decoding", list(DECODING))
@pytest.mark.parametrize("name", list(REFERENCES))
def test_generate_gives_the_tokens_of_the_transformers_model(name, decoding, causal_lms):
    reference, ours = causal_lms[name]
    input_ids, attention_mask = prompts()
    outputs = []
    for model in (reference, ours):
        torch.manual_seed(123)  # the same random draws for sampling
        outputs.append(
            model.generate(
                input_ids=input_ids,
                attention_mask=attention_mask,
                max_new_tokens=NEW_TOKENS,
                min_new_tokens=NEW_TOKENS,
                **DECODING[decoding],
            )
        )
    expected, generated = outputs
    rows = 2 * DECODING[decoding].get("num_return_sequences", 1)
    assert generated.shape == (rows, input_ids.shape[1] + NEW_TOKENS)
    assert torch.equal(generated, expected)


def test_generate_passes_the_cache_so_each_step_runs_one_new_token(causal_lms):
    _, ours = causal_lms["llama"]
    input_ids, attention_mask = prompts()
    lengths = []
    hook = ours.model.core.register_forward_pre_hook(
        lambda module, args, kwargs: lengths.append(kwargs["input_ids"].shape[1]), with_kwargs=True
    )
    try:
        with_cache = ours.generate(
            input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=4, min_new_tokens=4
        )
    finally:
        hook.remove()
    assert lengths == [6, 1, 1, 1]  # the prompt once, then only the newest token: the core keeps the rest
    without_cache = ours.generate(
        input_ids=input_ids,
        attention_mask=attention_mask,
        max_new_tokens=4,
        min_new_tokens=4,
        use_cache=False,
    )
    assert torch.equal(with_cache, without_cache)


def test_forward_returns_a_cache_only_when_asked(causal_lms):
    _, ours = causal_lms["gpt2"]
    input_ids, attention_mask = prompts()
    assert CACHE_NAME not in ours(input_ids=input_ids, attention_mask=attention_mask)
    output = ours(input_ids=input_ids, attention_mask=attention_mask, use_cache=True)
    assert output[CACHE_NAME].get_seq_length() == input_ids.shape[1]


def test_logits_to_keep_computes_the_head_on_the_last_positions_only(causal_lms):
    _, ours = causal_lms["qwen2"]
    input_ids, attention_mask = prompts()
    with torch.no_grad():
        every = ours(input_ids=input_ids, attention_mask=attention_mask).logits
        last = ours(input_ids=input_ids, attention_mask=attention_mask, logits_to_keep=1).logits
    assert last.shape == (2, 1, VOCAB)
    torch.testing.assert_close(last, every[:, -1:])


def test_generation_config_comes_from_the_checkpoint_and_survives_save_and_load(causal_lms, tmp_path):
    reference, _ = causal_lms["llama"]
    original = copy.deepcopy(reference.generation_config)
    reference.generation_config.max_new_tokens = 3
    reference.generation_config.eos_token_id = 7
    try:
        reference.save_pretrained(tmp_path / "reference")
    finally:
        reference.generation_config = original
    ours = ForCausalLM.from_pretrained(
        tmp_path / "reference", AutoBaseModel, CausalLMHeadConfig(tie_weights=False)
    )
    assert (ours.generation_config.max_new_tokens, ours.generation_config.eos_token_id) == (3, 7)
    ours.save_pretrained(tmp_path / "ours")
    loaded = ForCausalLM.from_pretrained(tmp_path / "ours")
    assert (loaded.generation_config.max_new_tokens, loaded.generation_config.eos_token_id) == (3, 7)


def test_a_new_causal_lm_takes_its_generation_config_from_the_base_model_config():
    config = ARCHITECTURES_BY_NAME["gpt2"].make_config()  # bos 1, eos 2, pad 0
    model = ForCausalLM.fromModelAndHeadConfig(AutoBaseModel(config), CausalLMHeadConfig())
    generation = model.generation_config
    assert (generation.bos_token_id, generation.eos_token_id, generation.pad_token_id) == (1, 2, 0)


@pytest.mark.parametrize(
    "task", [ForMaskedLM, ForSingleLabelSequenceClassification, ForSingleLabelTokenClassification]
)
def test_only_causal_language_models_generate(task):
    assert ForCausalLM.can_generate()
    assert not task.can_generate()


@pytest.mark.parametrize(
    "task, head_config",
    [
        (ForSingleLabelTokenClassification, TokenClassificationHeadConfig(num_labels=3)),
        (ForMaskedLM, MaskedLMHeadConfig()),
    ],
)
def test_generate_on_a_model_of_another_task_names_the_task_and_the_fix(task, head_config):
    """transformers' own classifiers answer generate with a bare AttributeError; ours say what to do instead."""
    model = task.fromModelAndHeadConfig(
        AutoBaseModel(ARCHITECTURES_BY_NAME["bert"].make_config()), head_config
    )
    input_ids, attention_mask = prompts()
    with pytest.raises(TypeError) as refusal:
        model.generate(input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=2)
    message = str(refusal.value)
    assert message.startswith(f"{task.__name__} (a {task.headClass().__name__} on its base model)")
    assert "does not generate text" in message
    assert "Fix: call the model for its predictions" in message
    assert "ForCausalLM.from_pretrained(path, AutoBaseModel, CausalLMHeadConfig(...))" in message


@pytest.fixture(scope="module")
def mlm_checkpoint(tmp_path_factory) -> str:
    """A BERT masked-LM checkpoint: an encoder that attends to both sides of each token."""
    folder = tmp_path_factory.mktemp("bert-mlm")
    torch.manual_seed(0)
    transformers.BertForMaskedLM(ARCHITECTURES_BY_NAME["bert"].make_config()).save_pretrained(folder)
    return str(folder)


def test_a_causal_lm_over_a_bidirectional_encoder_refuses_to_generate(mlm_checkpoint, caplog):
    with caplog.at_level(logging.WARNING):
        model = ForCausalLM.from_pretrained(
            mlm_checkpoint, AutoBaseModel, CausalLMHeadConfig(tie_weights=True)
        )
    warned = [record.getMessage() for record in caplog.records if record.name.endswith("tasks.lm")]
    assert len(warned) == 1 and "lets each position see the token it predicts" in warned[0]
    input_ids, attention_mask = prompts()
    with pytest.raises(ValueError) as refusal:
        model.generate(input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=2)
    message = str(refusal.value)
    assert "ForCausalLM is built over AutoBaseModel wrapping BertModel (model_type 'bert')" in message
    assert "attends to both sides of each token, so it cannot generate text" in message
    assert "Fix: put ForCausalLM on a decoder's checkpoint" in message
    assert "is_decoder=True" in message


def test_an_encoder_configured_as_a_decoder_generates_without_a_warning(caplog):
    """BERT with is_decoder=True attends causally (BertLMHeadModel's setting): generate runs."""
    config = ARCHITECTURES_BY_NAME["bert"].make_config()
    config.is_decoder = True
    with caplog.at_level(logging.WARNING):
        model = ForCausalLM.fromModelAndHeadConfig(AutoBaseModel(config), CausalLMHeadConfig()).eval()
    assert not [record for record in caplog.records if record.name.endswith("tasks.lm")]
    input_ids = torch.tensor([[5, 17, 42]])
    generated = model.generate(input_ids=input_ids, max_new_tokens=2, min_new_tokens=2, do_sample=False)
    assert generated.shape == (1, 5)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_decoders_attend_causally(name):
    assert AutoBaseModel(ARCHITECTURES_BY_NAME[name].make_config()).attendsCausally()


@pytest.mark.parametrize(
    "name", ["bert", "roberta", "distilbert", "deberta-v2", "modernbert", "t5-encoder", "canine"]
)
def test_encoders_do_not_attend_causally(name):
    assert not AutoBaseModel(ARCHITECTURES_BY_NAME[name].make_config()).attendsCausally()
