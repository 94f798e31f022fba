"""Dependency parsing, tokens grouped by word (striding, pooling), multiple choice, answerability QA."""

import math

import pytest
import torch
import transformers
from breadth_tiny_models import BERT_LIKE, VOCAB, example_input_ids

from archit_codemod.instantiation.basemodels import AutoBaseModel, RobertaBaseModel
from archit_codemod.instantiation.extensions import PoolingAndStridingConfig, SubwordPooling
from archit_codemod.instantiation.heads import (
    DependencyParsingHeadConfig,
    ExtractiveAQAHeadConfig,
    SequenceClassificationHeadConfig,
)
from archit_codemod.instantiation.tasks import (
    ForDependencyParsing,
    ForExtractiveAQA,
    ForSingleAnswerMultipleChoice,
)
from archit_codemod.instantiation.tasks.parsing import dependencyParsingLoss


def tiny_bert(context: int = 64, **overrides) -> transformers.BertConfig:
    return transformers.BertConfig(**{**BERT_LIKE, "max_position_embeddings": context, **overrides})


def parser(
    config=None, relations: int = 3, base_model_class=AutoBaseModel, **pooling
) -> ForDependencyParsing:
    torch.manual_seed(0)
    head_config = DependencyParsingHeadConfig(
        num_labels=relations,
        extended_model_config=PoolingAndStridingConfig(**pooling),
        final_hidden_size_arcs=16,
        final_hidden_size_relations=8,
    )
    return ForDependencyParsing.fromModelAndHeadConfig(
        base_model_class(config or tiny_bert()), head_config
    ).eval()


########################################################################################################################
#   Dependency parsing loss, checked by hand
########################################################################################################################


def test_dependency_parsing_loss_matches_a_hand_computed_example():
    # One sentence of 3 words: word 0 is the root symbol (no label), word 1's head is word 0, word 2's head word 1.
    arc_scores = torch.tensor([[[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 1.0, 1.0]]])
    relation_scores = torch.zeros(1, 3, 3, 2)
    relation_scores[0, 1, 0] = torch.tensor([0.0, 3.0])  # word 1, gold head 0: relation 1 is favoured
    relation_scores[0, 2, 1] = torch.tensor([1.0, 1.0])  # word 2, gold head 1: a tie
    relation_scores[0, 2, 2] = torch.tensor([50.0, -50.0])  # a non-gold arc: must not count
    arc_labels = torch.tensor([[-100, 0, 1]])
    relation_labels = torch.tensor([[-100, 1, 0]])

    # Arc terms: word 1 -> -log(e^2 / (e^2 + 1 + 1)); word 2 -> -log(e^1 / (1 + e + e)).
    arc_word1 = -math.log(math.exp(2) / (math.exp(2) + 2))
    arc_word2 = -math.log(math.e / (1 + 2 * math.e))
    # Relation terms on the gold arcs: word 1 -> -log(e^3 / (1 + e^3)); word 2 -> -log(1/2).
    relation_word1 = -math.log(math.exp(3) / (1 + math.exp(3)))
    relation_word2 = math.log(2)
    expected = (arc_word1 + arc_word2) / 2 + (relation_word1 + relation_word2) / 2

    loss = dependencyParsingLoss(arc_scores, relation_scores, arc_labels, relation_labels)
    assert loss.item() == pytest.approx(expected, abs=1e-6)
    # The task accepts the labels as a pair or as one B x W x 2 tensor.
    model = parser()
    assert model.computeLoss(
        (arc_scores, relation_scores), (arc_labels, relation_labels)
    ).item() == pytest.approx(expected, abs=1e-6)
    stacked = torch.stack((arc_labels, relation_labels), dim=-1)
    assert model.computeLoss((arc_scores, relation_scores), stacked).item() == pytest.approx(
        expected, abs=1e-6
    )


def test_dependency_parsing_end_to_end_and_round_trip(tmp_path):
    model = parser(layer_pooling=2, word_pooling=SubwordPooling.LAST, stride=8)
    # 2 sentences, up to 4 words of up to 3 tokens; the second sentence has 3 words.
    input_ids = torch.tensor(
        [
            [[5, 6, 0], [7, 0, 0], [8, 9, 10], [11, 0, 0]],
            [[12, 0, 0], [13, 14, 0], [15, 0, 0], [0, 0, 0]],
        ]
    )
    arc_labels = torch.tensor([[-100, 0, 1, 1], [-100, 0, 1, -100]])
    relation_labels = torch.tensor([[-100, 2, 0, 1], [-100, 1, 2, -100]])
    model.train()
    output = model(input_ids=input_ids, labels=(arc_labels, relation_labels))
    arc_scores, relation_scores = output.logits
    assert arc_scores.shape == (2, 4, 4) and relation_scores.shape == (2, 4, 4, 3)
    assert torch.isfinite(output.loss)
    # Arcs towards the padding word of sentence 2 are impossible.
    assert (arc_scores[1, :, 3] == torch.finfo(arc_scores.dtype).min).all()
    output.loss.backward()
    assert model.scalar_mix.weights.grad is not None and model.head.arc_attn.weight.grad.abs().sum() > 0

    model.eval()
    model.save_pretrained(tmp_path)
    loaded = ForDependencyParsing.from_pretrained(tmp_path).eval()
    assert loaded.config.head_config == model.config.head_config  # enum and nested config survive JSON
    with torch.no_grad():
        for mine, theirs in zip(
            model(input_ids=input_ids).logits, loaded(input_ids=input_ids).logits, strict=True
        ):
            assert torch.equal(mine, theirs)


def test_dependency_parsing_needs_relation_labels():
    with pytest.raises(ValueError, match="num_labels"):
        parser(relations=0)


########################################################################################################################
#   Tokens grouped by word: pooling and striding
########################################################################################################################


def test_subword_pooling_first_last_mean():
    input_ids = torch.tensor([[[5, 6, 7], [8, 0, 0], [9, 10, 0]]])  # 3 words of 3, 1 and 2 tokens
    tokens = torch.tensor([[5, 6, 7, 8, 9, 10]])
    results = {}
    for pooling in SubwordPooling:
        model = parser(word_pooling=pooling)
        with torch.no_grad():
            results[pooling] = model.callBaseModel(input_ids, None, do_drop_intermediates=True)[
                0
            ].last_hidden_state
            token_vectors = model.model(
                input_ids=tokens, attention_mask=torch.ones_like(tokens)
            ).last_hidden_state[0]
    t = token_vectors
    torch.testing.assert_close(results[SubwordPooling.FIRST][0], torch.stack([t[0], t[3], t[4]]))
    torch.testing.assert_close(results[SubwordPooling.LAST][0], torch.stack([t[2], t[3], t[5]]))
    torch.testing.assert_close(
        results[SubwordPooling.MEAN][0], torch.stack([t[0:3].mean(0), t[3], t[4:6].mean(0)])
    )


def test_layer_pooling_mixes_the_last_layers():
    model = parser(layer_pooling=3, word_pooling=SubwordPooling.FIRST)
    with torch.no_grad():
        model.scalar_mix.weights.copy_(
            torch.tensor([0.0, math.log(2.0), math.log(5.0)])
        )  # softmax: 1/8, 2/8, 5/8
        model.scalar_mix.gamma.fill_(2.0)
    input_ids = torch.tensor([[[5], [6], [7]]])
    with torch.no_grad():
        words = model.callBaseModel(input_ids, None, do_drop_intermediates=True)[0].last_hidden_state
        hidden = model.model(input_ids=torch.tensor([[5, 6, 7]]), do_drop_intermediates=False).hidden_states
    torch.testing.assert_close(words, 2.0 * (hidden[-3] / 8 + hidden[-2] * 2 / 8 + hidden[-1] * 5 / 8))


def test_striding_output_is_the_documented_concatenation():
    """Context C=16, stride s=5, T=30 one-token words: base(t[0:16]) ++ base(t[5:21])[11:] ++ base(t[10:26])[11:]
    ++ base(t[15:30])[11:], as the ForTokensGroupedByWord docstring promises."""
    C, s, T = 16, 5, 30
    model = parser(tiny_bert(context=C), word_pooling=SubwordPooling.FIRST, stride=s)
    assert model.context_length == C
    tokens = torch.randint(3, VOCAB, (1, T), generator=torch.Generator().manual_seed(0))

    def base(window):
        return model.model(input_ids=window, attention_mask=torch.ones_like(window)).last_hidden_state

    with torch.no_grad():
        words = model.callBaseModel(tokens.unsqueeze(-1), None, do_drop_intermediates=True)[
            0
        ].last_hidden_state
        expected = torch.cat(
            [
                base(tokens[:, 0:16]),
                base(tokens[:, 5:21])[:, 11:],
                base(tokens[:, 10:26])[:, 11:],
                base(tokens[:, 15:30])[:, 11:],
            ],
            dim=1,
        )
    assert expected.shape[1] == T
    assert torch.equal(words, expected)


def test_roberta_wrapper_strides_over_its_usable_context():
    """RoBERTa's position ids start after the padding index: with 18 position embeddings and pad token id 1 the
    context is 18 - 2 = 16 tokens (roberta-base: 514 -> 512), and a window of 16 tokens must work."""
    roberta_base = transformers.RobertaConfig(max_position_embeddings=514)  # roberta-base's config.json
    assert RobertaBaseModel.standardiseConfig(roberta_base).context_length == 512
    config = transformers.RobertaConfig(**{**BERT_LIKE, "max_position_embeddings": 18, "pad_token_id": 1})
    model = parser(config, base_model_class=RobertaBaseModel, word_pooling=SubwordPooling.FIRST, stride=5)
    assert model.context_length == 16
    tokens = torch.randint(3, VOCAB, (1, 26), generator=torch.Generator().manual_seed(3))

    def base(window):
        return model.model(input_ids=window, attention_mask=torch.ones_like(window)).last_hidden_state

    with torch.no_grad():
        one_window = model.callBaseModel(tokens[:, :16].unsqueeze(-1), None, True)[0].last_hidden_state
        words = model.callBaseModel(tokens.unsqueeze(-1), None, True)[0].last_hidden_state
        expected = torch.cat(
            [base(tokens[:, 0:16]), base(tokens[:, 5:21])[:, 11:], base(tokens[:, 10:26])[:, 11:]], dim=1
        )
    assert torch.equal(one_window, base(tokens[:, :16]))
    assert torch.equal(words, expected)


def test_striding_with_a_batch_of_different_lengths_and_multi_token_words():
    """A short example next to a long one gets the output it gets alone; the long one is encoded in windows."""
    model = parser(tiny_bert(context=16), word_pooling=SubwordPooling.MEAN, stride=4)
    generator = torch.Generator().manual_seed(1)
    long_words = torch.randint(
        3, VOCAB, (12, 2), generator=generator
    )  # 24 tokens: 1 + ceil(8 / 4) = 3 windows
    short_words = torch.zeros(12, 2, dtype=torch.long)
    short_words[:3] = torch.randint(3, VOCAB, (3, 2), generator=generator)  # 6 tokens, one window
    with torch.no_grad():
        batch, word_mask = model.callBaseModel(torch.stack([long_words, short_words]), None, True)
        alone_long = model.callBaseModel(long_words.unsqueeze(0), None, True)[0].last_hidden_state
        alone_short = model.callBaseModel(short_words[:3].unsqueeze(0), None, True)[0].last_hidden_state
        flat = long_words.reshape(1, -1)
        ones = torch.ones(1, 16, dtype=torch.long)
        windows = torch.cat(
            [
                model.model(input_ids=flat[:, 0:16], attention_mask=ones).last_hidden_state,
                model.model(input_ids=flat[:, 4:20], attention_mask=ones).last_hidden_state[:, 12:],
                model.model(input_ids=flat[:, 8:24], attention_mask=ones).last_hidden_state[:, 12:],
            ],
            dim=1,
        )
    assert word_mask.tolist() == [[1] * 12, [1] * 3 + [0] * 9]
    torch.testing.assert_close(alone_long[0], windows[0].reshape(12, 2, -1).mean(1))
    torch.testing.assert_close(batch.last_hidden_state[0], alone_long[0])
    torch.testing.assert_close(batch.last_hidden_state[1, :3], alone_short[0])
    assert torch.equal(batch.last_hidden_state[1, 3:], torch.zeros(9, 32))  # padding words


def test_tokens_grouped_by_word_needs_a_pad_token_id():
    with pytest.raises(ValueError, match="pad_token_id=None.*config.pad_token_id = tokenizer.pad_token_id"):
        parser(transformers.GPT2Config(vocab_size=VOCAB, n_embd=32, n_layer=2, n_head=4, n_positions=64))


def test_a_stride_longer_than_the_context_means_windows_without_overlap():
    model = parser(tiny_bert(context=16), word_pooling=SubwordPooling.FIRST, stride=100)
    tokens = torch.randint(3, VOCAB, (1, 20), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        words = model.callBaseModel(tokens.unsqueeze(-1), None, do_drop_intermediates=True)[
            0
        ].last_hidden_state
        first = model.model(input_ids=tokens[:, :16], attention_mask=torch.ones(1, 16, dtype=torch.long))
        second = model.model(input_ids=tokens[:, 16:], attention_mask=torch.ones(1, 4, dtype=torch.long))
    assert torch.equal(words, torch.cat([first.last_hidden_state, second.last_hidden_state], dim=1))


def test_padding_inside_a_word_is_refused():
    with pytest.raises(ValueError, match="padding before one of its tokens"):
        parser().callBaseModel(torch.tensor([[[5, 0, 6]]]), None, True)


########################################################################################################################
#   Multiple choice (nested batches)
########################################################################################################################


def test_multiple_choice_scores_each_choice_as_if_it_were_alone():
    torch.manual_seed(0)
    model = ForSingleAnswerMultipleChoice.fromModelAndHeadConfig(
        RobertaBaseModel(transformers.RobertaConfig(**BERT_LIKE)),
        SequenceClassificationHeadConfig(num_labels=1),
    ).eval()
    input_ids, attention_mask = example_input_ids(batch=6, length=5)
    nested_ids, nested_mask = input_ids.view(2, 3, 5), attention_mask.view(2, 3, 5)
    labels = torch.tensor([2, 0])
    with torch.no_grad():
        output = model(input_ids=nested_ids, attention_mask=nested_mask, labels=labels)
        alone = model.head.out_proj(
            torch.tanh(
                model.head.dense(
                    model.head.pool(model.model(input_ids[3:4], attention_mask[3:4]), attention_mask[3:4])
                )
            )
        )
    assert output.logits.shape == (2, 3, 1)
    torch.testing.assert_close(output.logits[1, 0], alone[0])
    expected = torch.nn.functional.cross_entropy(output.logits.squeeze(-1), labels)
    assert output.loss.item() == pytest.approx(expected.item())


def test_multiple_choice_needs_one_logit_per_choice():
    with pytest.raises(ValueError, match="needs num_labels=1"):
        ForSingleAnswerMultipleChoice.fromModelAndHeadConfig(
            AutoBaseModel(tiny_bert()), SequenceClassificationHeadConfig(num_labels=2)
        )


########################################################################################################################
#   Extractive QA with answerability
########################################################################################################################


def test_answerability_qa_loss_counts_spans_of_answerable_examples_only():
    torch.manual_seed(0)
    model = ForExtractiveAQA.fromModelAndHeadConfig(
        AutoBaseModel(tiny_bert()), ExtractiveAQAHeadConfig(ua_loss_weight=0.5)
    )
    input_ids, attention_mask = example_input_ids(batch=3, length=6)
    positions = torch.tensor([[1, 2], [0, 0], [3, 5]])
    answerable = torch.tensor([1, 0, 1])
    output = model(input_ids=input_ids, attention_mask=attention_mask, labels=(positions, answerable))
    span_logits, answerability_logits = output.logits
    assert span_logits.shape == (3, 6, 2) and answerability_logits.shape == (3, 2)

    cross_entropy = torch.nn.functional.cross_entropy
    span = (cross_entropy(span_logits[[0, 2], :, 0], positions[[0, 2], 0]) + cross_entropy(span_logits[[0, 2], :, 1], positions[[0, 2], 1])) / 2  # fmt: skip
    expected = span + 0.5 * cross_entropy(answerability_logits, answerable)
    assert output.loss.item() == pytest.approx(expected.item(), abs=1e-6)
    output.loss.backward()
    assert model.head.ua_head.out_proj.weight.grad.abs().sum() > 0

    # The positions given for an unanswerable example do not matter.
    model.eval()
    with torch.no_grad():
        first = model(input_ids=input_ids, attention_mask=attention_mask, labels=(positions, answerable)).loss
        other = positions.clone()
        other[1] = torch.tensor([4, 5])
        second = model(input_ids=input_ids, attention_mask=attention_mask, labels=(other, answerable)).loss
    assert torch.equal(first, second)
