"""The tasks work in transformers' pipelines, with the predictions of the equivalent transformers model class.

A WordPiece tokenizer is trained in memory on a few sentences (no hub). For each pipeline task, a transformers
model with its own head is saved and loaded twice: by transformers, and by the task class over AutoBaseModel,
whose head reuses the checkpoint's head, so both compute the same function with the same weights. The pipelines
must then predict the same, from the model objects and from a saved folder (through the auto classes the tasks are
registered with).
"""

import pytest
import torch
import transformers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast, pipeline
from transformers.pipelines import SUPPORTED_TASKS

from archit_codemod.instantiation.basemodels import AutoBaseModel
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
    ForSingleLabelSequenceClassification,
    ForSingleLabelTokenClassification,
)

SENTENCES = [
    "the quick brown fox jumps over the lazy dog",
    "paris is the capital of france and berlin is the capital of germany",
    "she sells sea shells by the sea shore",
    "all that glitters is not gold",
    "the early bird catches the worm but the second mouse gets the cheese",
    "a journey of a thousand miles begins with a single step",
]
LABELS = {0: "O", 1: "B-PLACE", 2: "I-PLACE"}
TEXT = "the lazy fox sells gold in paris"


@pytest.fixture(scope="module")
def tokenizer() -> PreTrainedTokenizerFast:
    """A BERT-style WordPiece tokenizer ([PAD] is id 0), trained on SENTENCES."""
    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    backend.train_from_iterator(SENTENCES, trainers.WordPieceTrainer(vocab_size=150, special_tokens=special))
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)],
    )
    backend.decoder = decoders.WordPiece()
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )


def sizes(tokenizer: PreTrainedTokenizerFast) -> dict:
    # Larger weights than the default 0.02 spread make confident, input-sensitive predictions to compare.
    return dict(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        max_position_embeddings=64,
        pad_token_id=0,
        initializer_range=0.3,
    )


def saved(model_class: type, config: transformers.PretrainedConfig, folder) -> transformers.PreTrainedModel:
    torch.manual_seed(0)
    model_class(config).save_pretrained(folder)
    return model_class.from_pretrained(folder).eval()


def test_token_classification(tokenizer, tmp_path):
    config = transformers.BertConfig(**sizes(tokenizer), id2label=LABELS)
    reference = saved(transformers.BertForTokenClassification, config, tmp_path / "reference")
    ours = ForSingleLabelTokenClassification.from_pretrained(
        tmp_path / "reference", AutoBaseModel, TokenClassificationHeadConfig(num_labels=3)
    ).eval()
    assert ours.config.id2label == LABELS  # the checkpoint's label names
    for strategy in ("none", "simple"):
        expected = pipeline(
            "token-classification", model=reference, tokenizer=tokenizer, aggregation_strategy=strategy
        )
        predicted = pipeline(
            "token-classification", model=ours, tokenizer=tokenizer, aggregation_strategy=strategy
        )
        assert predicted(TEXT) == expected(TEXT)
        assert {
            entity["entity_group" if strategy == "simple" else "entity"] for entity in expected(TEXT)
        } <= {
            "O",
            "PLACE",
            "B-PLACE",
            "I-PLACE",
        }

    ours.save_pretrained(tmp_path / "ours")
    tokenizer.save_pretrained(tmp_path / "ours")
    from_folder = pipeline("token-classification", model=str(tmp_path / "ours"))
    assert type(from_folder.model) is ForSingleLabelTokenClassification
    assert from_folder(TEXT) == pipeline("token-classification", model=reference, tokenizer=tokenizer)(TEXT)


def assert_same_scores(predicted: list[list[dict]], expected: list[list[dict]]) -> None:
    """The same labels in the same order, and the same scores up to a few float32 rounding steps.

    Not bitwise: the reference's head weights stay where transformers' loader put them, at their offsets in the
    safetensors file (addresses 4-byte aligned only), while ours are copied into freshly allocated (aligned) parameters
    when the head is mapped. On a one-row input (a pipeline runs one text at a time) a linear layer is a
    matrix-vector product, and the CPU kernel sums an unaligned row in another order than an aligned one: the same
    operations on the same weights differ in the last bit of the logits (re-allocating the reference's weights makes
    the logits bitwise equal). Whether a last-bit difference survives the softmax depends on the values."""
    assert [[entry["label"] for entry in scores] for scores in predicted] == [
        [entry["label"] for entry in scores] for scores in expected
    ]
    for predicted_scores, expected_scores in zip(predicted, expected, strict=True):
        assert [entry["score"] for entry in predicted_scores] == pytest.approx(
            [entry["score"] for entry in expected_scores], rel=1e-6, abs=1e-7
        )


def test_text_classification(tokenizer, tmp_path):
    """RoBERTa's classifier reads the first token: SequenceClassificationHead(pooling="first") is that function."""
    config = transformers.RobertaConfig(
        **sizes(tokenizer), id2label={0: "negative", 1: "neutral", 2: "positive"}
    )
    reference = saved(transformers.RobertaForSequenceClassification, config, tmp_path / "reference")
    ours = ForSingleLabelSequenceClassification.from_pretrained(
        tmp_path / "reference", AutoBaseModel, SequenceClassificationHeadConfig(num_labels=3, pooling="first")
    ).eval()
    texts = [TEXT, "berlin is not the capital of france", "a single step"]
    expected = pipeline("text-classification", model=reference, tokenizer=tokenizer, top_k=None)(texts)
    predicted = pipeline("text-classification", model=ours, tokenizer=tokenizer, top_k=None)(texts)
    assert_same_scores(predicted, expected)
    assert {entry["label"] for scores in predicted for entry in scores} == {"negative", "neutral", "positive"}

    ours.save_pretrained(tmp_path / "ours")
    tokenizer.save_pretrained(tmp_path / "ours")
    from_folder = pipeline("text-classification", model=str(tmp_path / "ours"), top_k=None)
    assert type(from_folder.model) is ForSingleLabelSequenceClassification
    assert_same_scores(from_folder(texts), expected)


def test_fill_mask(tokenizer, tmp_path):
    """BERT's masked-LM head ties its decoder to the embeddings and normalises with epsilon 1e-12."""
    config = transformers.BertConfig(**sizes(tokenizer))
    reference = saved(transformers.BertForMaskedLM, config, tmp_path / "reference")
    ours = ForMaskedLM.from_pretrained(
        tmp_path / "reference", AutoBaseModel, MaskedLMHeadConfig(tie_weights=True, layer_norm_eps=1e-12)
    ).eval()
    text = "the quick brown [MASK] jumps over the lazy dog"
    expected = pipeline("fill-mask", model=reference, tokenizer=tokenizer, top_k=5)(text)
    predicted = pipeline("fill-mask", model=ours, tokenizer=tokenizer, top_k=5)(text)
    assert predicted == expected
    assert len(predicted) == 5


@pytest.mark.skipif(
    "question-answering" not in SUPPORTED_TASKS,
    reason="this transformers release has no question-answering pipeline (transformers 5 removed it)",
)
def test_question_answering(tokenizer, tmp_path):
    config = transformers.BertConfig(**sizes(tokenizer))
    reference = saved(transformers.BertForQuestionAnswering, config, tmp_path / "reference")
    ours = ForExtractiveQA.from_pretrained(
        tmp_path / "reference", AutoBaseModel, ExtractiveQAHeadConfig()
    ).eval()
    question, context = "what is the capital of france", SENTENCES[1]
    expected = pipeline("question-answering", model=reference, tokenizer=tokenizer)(
        question=question, context=context, top_k=3
    )
    predicted = pipeline("question-answering", model=ours, tokenizer=tokenizer)(
        question=question, context=context, top_k=3
    )
    assert predicted == expected
    assert all(context[answer["start"] : answer["end"]] == answer["answer"] for answer in predicted)


def test_question_answering_outputs_split_scores_as_transformers_models(tokenizer, tmp_path):
    """What the question-answering pipeline reads (and what QA post-processing code reads on every release)."""
    config = transformers.BertConfig(**sizes(tokenizer))
    reference = saved(transformers.BertForQuestionAnswering, config, tmp_path / "reference")
    ours = ForExtractiveQA.from_pretrained(
        tmp_path / "reference", AutoBaseModel, ExtractiveQAHeadConfig()
    ).eval()
    inputs = tokenizer("what is the capital of france", SENTENCES[1], return_tensors="pt")
    with torch.no_grad():
        expected, predicted = reference(**inputs), ours(**inputs)
    assert torch.equal(predicted["start_logits"], expected["start_logits"])
    assert torch.equal(predicted["end_logits"], expected["end_logits"])


def test_text_generation(tokenizer, tmp_path):
    config = transformers.GPT2Config(
        vocab_size=len(tokenizer), n_embd=32, n_layer=2, n_head=4, n_positions=64, pad_token_id=0,
        bos_token_id=2, eos_token_id=3, initializer_range=0.3,
    )  # fmt: skip
    reference = saved(transformers.GPT2LMHeadModel, config, tmp_path / "reference")
    ours = ForCausalLM.from_pretrained(tmp_path / "reference", AutoBaseModel, CausalLMHeadConfig()).eval()
    settings = dict(max_new_tokens=8, min_new_tokens=8, do_sample=False)
    expected = pipeline("text-generation", model=reference, tokenizer=tokenizer)("the early bird", **settings)
    predicted = pipeline("text-generation", model=ours, tokenizer=tokenizer)("the early bird", **settings)
    assert predicted == expected
    assert predicted[0]["generated_text"].startswith("the early bird")

    ours.save_pretrained(tmp_path / "ours")
    tokenizer.save_pretrained(tmp_path / "ours")
    from_folder = pipeline("text-generation", model=str(tmp_path / "ours"))
    assert type(from_folder.model) is ForCausalLM
    assert from_folder("the early bird", **settings) == expected
