"""Fixtures of the instantiation core tests: tiny transformers checkpoints saved to temporary folders (no hub)."""

from pathlib import Path

import pytest
import torch
import transformers
from breadth_tiny_models import ARCHITECTURES_BY_NAME, VOCAB, example_input_ids

from archit_codemod.instantiation import basemodels

__all__ = ["VOCAB", "WRAPPERS", "example_batch", "tiny_config"]


def tiny_config(name: str) -> transformers.PretrainedConfig:
    """A tiny config of one of the architectures that have a dedicated wrapper (hidden size 32, 2 layers, 4 heads)."""
    if name not in WRAPPERS:
        raise KeyError(name)
    return ARCHITECTURES_BY_NAME[name].make_config()


# architecture name -> (our wrapper, the transformers base class whose outputs it must reproduce)
WRAPPERS = {
    "roberta": (basemodels.RobertaBaseModel, transformers.RobertaModel),
    "bert": (basemodels.BertBaseModel, transformers.BertModel),
    "gpt2": (basemodels.GPT2BaseModel, transformers.GPT2Model),
    "deberta": (basemodels.DebertaBaseModel, transformers.DebertaModel),
    "deberta-v2": (basemodels.DebertaV2BaseModel, transformers.DebertaV2Model),
    "modernbert": (basemodels.ModernBertBaseModel, transformers.ModernBertModel),
    "canine": (basemodels.CanineBaseModel, transformers.CanineModel),
}


def example_batch(batch: int = 2, length: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids without pad tokens, and an attention mask whose second row ends in two padding positions."""
    return example_input_ids(batch, length, seed)


def _saved(model_class: type, seed: int, folder: Path) -> Path:
    torch.manual_seed(seed)
    model_class(tiny_config("roberta")).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def roberta_base_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved transformers RobertaModel (with its pooler: the wrapper must drop it)."""
    return _saved(transformers.RobertaModel, 0, tmp_path_factory.mktemp("roberta-base-model"))


@pytest.fixture(scope="session")
def roberta_mlm_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved transformers RobertaForMaskedLM: a model with its own head."""
    return _saved(transformers.RobertaForMaskedLM, 1, tmp_path_factory.mktemp("roberta-mlm"))
