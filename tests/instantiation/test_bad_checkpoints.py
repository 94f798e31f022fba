"""Bad checkpoints given to ``ModelWithHead.from_pretrained``: one clear message each, nothing written.

Each case starts from a tiny RoBERTa checkpoint saved to a temporary folder and breaks one thing: no
``config.json``, a config of another model type than the wrapper expects, a missing or an unexpected
weight, a head config of the wrong type. A loader may refuse (an exception naming what is wrong) or, for
weights the checkpoint lacks or has in excess, load while saying which keys (as transformers does); it may
never load silently, and it never writes into the checkpoint folder.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
import transformers
from safetensors.torch import load_file, save_file

from archit_codemod.instantiation.basemodels import RobertaBaseModel
from archit_codemod.instantiation.heads import MaskedLMHeadConfig, TokenClassificationHeadConfig
from archit_codemod.instantiation.tasks import ForMaskedLM, ForSingleLabelTokenClassification

TINY = dict(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
    max_position_embeddings=64, pad_token_id=0,
)  # fmt: skip
WEIGHTS = "model.safetensors"


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``folder`` with the hash of its bytes and its modification time."""
    return {
        str(path.relative_to(folder)): (
            hashlib.sha256(path.read_bytes()).hexdigest(),
            path.stat().st_mtime_ns,
        )
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def edit_weights(folder: Path, remove: str | None = None, add: dict[str, torch.Tensor] | None = None) -> None:
    """Rewrite the checkpoint's weights without ``remove`` and with ``add``, as a damaged upload would be."""
    state = load_file(folder / WEIGHTS)
    if remove is not None:
        del state[remove]
    state.update(add or {})
    save_file(state, folder / WEIGHTS, metadata={"format": "pt"})


@pytest.fixture(scope="module")
def roberta_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A transformers RobertaModel checkpoint (kept pristine: tests copy it before breaking it)."""
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("roberta")
    transformers.RobertaModel(transformers.RobertaConfig(**TINY)).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def own_mlm_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ForMaskedLM checkpoint saved by this package (base and head)."""
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("own-mlm")
    base = RobertaBaseModel(transformers.RobertaConfig(**TINY))
    ForMaskedLM.fromModelAndHeadConfig(base, MaskedLMHeadConfig(tie_weights=False)).save_pretrained(folder)
    return folder


@pytest.fixture
def copy_of(tmp_path: Path):
    def copy(checkpoint: Path) -> Path:
        target = tmp_path / checkpoint.name
        shutil.copytree(checkpoint, target)
        return target

    return copy


@pytest.fixture
def load_messages() -> Iterator[list[str]]:
    """Messages logged while loading, by this package and by transformers (whose logger does not propagate)."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Collect(level=logging.WARNING)
    loggers = [logging.getLogger("archit_codemod"), logging.getLogger("transformers")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield messages
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def test_a_folder_without_config_is_refused_naming_the_file(roberta_checkpoint, copy_of):
    folder = copy_of(roberta_checkpoint)
    (folder / "config.json").unlink()
    before = snapshot(folder)
    with pytest.raises((OSError, ValueError)) as raised:
        ForMaskedLM.from_pretrained(folder, RobertaBaseModel, MaskedLMHeadConfig())
    assert "config.json" in str(raised.value) and str(folder) in str(raised.value)
    assert snapshot(folder) == before


def test_a_config_of_another_model_type_is_refused_naming_both(tmp_path):
    folder = tmp_path / "bert"
    transformers.BertModel(transformers.BertConfig(**TINY)).save_pretrained(folder)
    before = snapshot(folder)
    try:
        with pytest.raises(ValueError) as raised:
            ForMaskedLM.from_pretrained(folder, RobertaBaseModel, MaskedLMHeadConfig())
        message = str(raised.value)
        assert "bert" in message and "roberta" in message.lower() and "RobertaBaseModel" in message
    finally:
        assert snapshot(folder) == before


def test_a_saved_base_model_class_that_differs_is_refused(own_mlm_checkpoint, copy_of):
    from archit_codemod.instantiation.basemodels import BertBaseModel

    folder = copy_of(own_mlm_checkpoint)
    before = snapshot(folder)
    with pytest.raises(ValueError, match=r"holds a .*RobertaBaseModel, not a .*BertBaseModel"):
        ForMaskedLM.from_pretrained(folder, BertBaseModel)
    assert snapshot(folder) == before


@pytest.mark.parametrize("kind", ["transformers", "own"])
def test_a_missing_weight_is_named(kind, roberta_checkpoint, own_mlm_checkpoint, copy_of, load_messages):
    if kind == "transformers":
        folder, missing = copy_of(roberta_checkpoint), "encoder.layer.1.output.dense.weight"
        arguments = (RobertaBaseModel, MaskedLMHeadConfig())
    else:
        folder, missing = copy_of(own_mlm_checkpoint), "head.dense.weight"
        arguments = ()
    edit_weights(folder, remove=missing)
    before = snapshot(folder)
    try:
        ForMaskedLM.from_pretrained(folder, *arguments)
    except (OSError, ValueError, RuntimeError) as refusal:
        said = str(refusal)
    else:
        said = "\n".join(load_messages)
    # The key, as the checkpoint or the model spells it (a wrapper may prefix it), must be named.
    assert missing in said, said
    assert snapshot(folder) == before


@pytest.mark.parametrize("kind", ["transformers", "own"])
def test_an_unexpected_weight_is_named(kind, roberta_checkpoint, own_mlm_checkpoint, copy_of, load_messages):
    if kind == "transformers":
        folder, extra = copy_of(roberta_checkpoint), "encoder.layer.1.output.extra.weight"
        arguments = (RobertaBaseModel, MaskedLMHeadConfig())
    else:
        folder, extra = copy_of(own_mlm_checkpoint), "head.extra.weight"
        arguments = ()
    edit_weights(folder, add={extra: torch.zeros(3)})
    before = snapshot(folder)
    try:
        model = ForMaskedLM.from_pretrained(folder, *arguments)
    except (OSError, ValueError, RuntimeError) as refusal:
        said = str(refusal)
    else:
        said = "\n".join(load_messages)
        # Loaded: the extra tensor went nowhere.
        assert "extra" not in "".join(model.state_dict())
    assert extra in said, said
    assert snapshot(folder) == before


def test_a_head_config_of_the_wrong_type_is_refused_for_a_transformers_checkpoint(
    roberta_checkpoint, copy_of
):
    folder = copy_of(roberta_checkpoint)
    before = snapshot(folder)
    with pytest.raises((TypeError, ValueError)) as raised:
        ForMaskedLM.from_pretrained(folder, RobertaBaseModel, TokenClassificationHeadConfig(num_labels=3))
    assert "MaskedLMHeadConfig" in str(raised.value) and "TokenClassificationHeadConfig" in str(raised.value)
    assert snapshot(folder) == before


def test_a_head_config_of_the_wrong_type_is_refused_for_an_own_checkpoint(own_mlm_checkpoint, copy_of):
    folder = copy_of(own_mlm_checkpoint)
    before = snapshot(folder)
    with pytest.raises((TypeError, ValueError)) as raised:
        ForMaskedLM.from_pretrained(folder, head_config=TokenClassificationHeadConfig(num_labels=3))
    assert "MaskedLMHeadConfig" in str(raised.value) and "TokenClassificationHeadConfig" in str(raised.value)
    # A task whose head config type differs from the saved one is refused too, naming the saved task.
    with pytest.raises(ValueError, match=r"ForMaskedLM"):
        ForSingleLabelTokenClassification.from_pretrained(folder)
    assert snapshot(folder) == before
