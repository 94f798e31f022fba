"""The seed's instantiation examples (its PyPI page), run with the import root changed to ``archit_codemod``, and
the scripts ``examples/instantiation_*.py`` that expand them.

Both seed snippets pass ``DependencyParsingHeadConfig()``, whose ``num_labels`` is 0: a parser that scores no
relation label. The seed refused that with a bare ``AssertionError``; here it is a ``ValueError`` naming the fix,
which the first test of each snippet checks. The second runs the snippet with ``num_labels`` given, the only edit.
"""

import runpy
from pathlib import Path

import pytest
import torch
import transformers

from archit_codemod.instantiation.basemodels import RobertaBaseModel
from archit_codemod.instantiation.heads import DependencyParsingHeadConfig
from archit_codemod.instantiation.tasks import ForDependencyParsing

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# Copied from the seed's PyPI page (archit 2026.4.1), "Usage > Instantiation" (trailing spaces dropped).
SEED_BUILD_SNIPPET = """\
from transformers import RobertaConfig

from archit.instantiation.basemodels import RobertaBaseModel
from archit.instantiation.tasks import ForDependencyParsing
from archit.instantiation.heads import DependencyParsingHeadConfig

model_with_head = ForDependencyParsing.fromModelAndHeadConfig(
    RobertaBaseModel(RobertaConfig()),
    DependencyParsingHeadConfig()
)
"""
SEED_FROM_PRETRAINED_SNIPPET = """\
from archit.instantiation.basemodels import RobertaBaseModel
from archit.instantiation.tasks import ForDependencyParsing
from archit.instantiation.heads import DependencyParsingHeadConfig

model_with_head = ForDependencyParsing.from_pretrained(
    "path/to/core-checkpoint",
    RobertaBaseModel,
    DependencyParsingHeadConfig()
)
"""
NUM_LABELS_FIX = r"needs num_labels >= 1.*Fix: DependencyParsingHeadConfig\(num_labels=<number of labels>\)"


def run(snippet: str, checkpoint: Path | None = None, num_labels: int | None = None) -> dict:
    """Execute a seed snippet with the import root changed (and the placeholder path, and num_labels, if given)."""
    source = snippet.replace("from archit.", "from archit_codemod.")
    if checkpoint is not None:
        source = source.replace('"path/to/core-checkpoint"', repr(str(checkpoint)))
    if num_labels is not None:
        source = source.replace(
            "DependencyParsingHeadConfig()", f"DependencyParsingHeadConfig(num_labels={num_labels})"
        )
    namespace: dict = {}
    exec(compile(source, "<seed snippet>", "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def example():
    return runpy.run_path(str(EXAMPLES / "instantiation_dependency_parsing.py"), run_name="example")


@pytest.fixture(scope="module")
def core_checkpoint(tmp_path_factory) -> tuple[Path, transformers.RobertaModel]:
    folder = tmp_path_factory.mktemp("core-checkpoint")
    core = runpy.run_path(str(EXAMPLES / "instantiation_from_pretrained.py"))["save_core_checkpoint"](folder)
    return folder, core


def assert_core_weights_are_the_checkpoints(
    model: ForDependencyParsing, core: transformers.RobertaModel
) -> None:
    ours = model.model.core.state_dict()
    theirs = {key: value for key, value in core.state_dict().items() if not key.startswith("pooler.")}
    assert ours.keys() == theirs.keys()  # RobertaBaseModel has no pooler: RoBERTa never pre-trains it
    for key, value in theirs.items():
        assert torch.equal(ours[key], value), key


def test_seed_build_snippet_as_written_asks_for_the_number_of_relations():
    with pytest.raises(ValueError, match=NUM_LABELS_FIX):
        run(SEED_BUILD_SNIPPET)


def test_seed_build_snippet_with_relation_labels_parses(example):
    """RobertaConfig() as written: a roberta-base-sized model (built in about a second)."""
    model = run(SEED_BUILD_SNIPPET, num_labels=4)["model_with_head"].eval()
    assert type(model) is ForDependencyParsing and type(model.model) is RobertaBaseModel
    assert model.config.base_model_config.hidden_size == 768
    # RobertaConfig() has 512 position embeddings, and RoBERTa's position ids start after the pad token id (1).
    assert model.context_length == 512 - 2
    input_ids, heads, relations = example["example_batch"](pad=model.config.base_model_config.pad_token_id)
    with torch.no_grad():
        output = model(input_ids=input_ids, labels=(heads, relations))
    arc_scores, relation_scores = output.logits
    assert arc_scores.shape == (2, 5, 5) and relation_scores.shape == (2, 5, 5, 4)
    assert torch.isfinite(output.loss)
    # Sentence 2 has 3 words: nothing may attach to its two padding words.
    assert (arc_scores[1, :, 3:] == torch.finfo(arc_scores.dtype).min).all()


def test_seed_from_pretrained_snippet_as_written_asks_for_the_number_of_relations(core_checkpoint):
    folder, _ = core_checkpoint
    with pytest.raises(ValueError, match=NUM_LABELS_FIX):
        run(SEED_FROM_PRETRAINED_SNIPPET, checkpoint=folder)


def test_seed_from_pretrained_snippet_loads_the_core_checkpoint_exactly(core_checkpoint):
    folder, core = core_checkpoint
    model = run(SEED_FROM_PRETRAINED_SNIPPET, checkpoint=folder, num_labels=4)["model_with_head"]
    assert type(model) is ForDependencyParsing and type(model.model) is RobertaBaseModel
    assert model.config.head_config == DependencyParsingHeadConfig(num_labels=4)
    assert_core_weights_are_the_checkpoints(model, core)


def test_example_dependency_parsing_script(example):
    model, arc_scores, loss = example["main"](example["tiny_config"]())
    assert type(model) is ForDependencyParsing
    assert arc_scores.shape == (2, 5, 5)
    assert torch.isfinite(loss)
    loss.backward()  # the biaffine scorers start at zero (as in supar), so they get the first gradient
    assert model.head.arc_attn.weight.grad.abs().sum() > 0
    assert model.head.rel_attn.weight.grad.abs().sum() > 0


def test_example_from_pretrained_script(tmp_path):
    script = runpy.run_path(str(EXAMPLES / "instantiation_from_pretrained.py"))
    core, model, reloaded = script["main"](tmp_path)
    assert_core_weights_are_the_checkpoints(model, core)
    assert reloaded.config.head_config == model.config.head_config
    saved, loaded = model.state_dict(), reloaded.state_dict()
    assert loaded.keys() == saved.keys()
    for key, value in saved.items():
        assert torch.equal(loaded[key], value), key
