"""Tiny models and data shared by the ecosystem tests (no hub: every model is built from a config)."""

from __future__ import annotations

import hashlib
import os
import re
import sys
from pathlib import Path

import torch
import transformers
from torch import nn

from archit_codemod.instantiation.basemodels import BertBaseModel, RobertaBaseModel
from archit_codemod.instantiation.heads import MaskedLMHeadConfig, TokenClassificationHeadConfig
from archit_codemod.instantiation.tasks import ForMaskedLM, ForSingleLabelTokenClassification

REPO_ROOT = Path(__file__).resolve().parents[2]
VOCAB = 99
SEQUENCE_LENGTH = 8
NUM_LABELS = 3

_BERT_LIKE = dict(
    vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
    max_position_embeddings=64, pad_token_id=0,
)  # fmt: skip


def tiny_roberta_config() -> transformers.RobertaConfig:
    return transformers.RobertaConfig(**_BERT_LIKE, type_vocab_size=1)


def tiny_bert_config() -> transformers.BertConfig:
    return transformers.BertConfig(**_BERT_LIKE)


def token_classifier(seed: int = 0) -> ForSingleLabelTokenClassification:
    """A RoBERTa token classifier with ``NUM_LABELS`` labels, its weights drawn from ``seed``."""
    torch.manual_seed(seed)
    return ForSingleLabelTokenClassification.fromModelAndHeadConfig(
        RobertaBaseModel(tiny_roberta_config()), TokenClassificationHeadConfig(num_labels=NUM_LABELS)
    )


def masked_lm(seed: int = 0) -> ForMaskedLM:
    """A BERT masked language model whose decoder is tied to the input embeddings, weights drawn from ``seed``."""
    torch.manual_seed(seed)
    return ForMaskedLM.fromModelAndHeadConfig(
        BertBaseModel(tiny_bert_config()), MaskedLMHeadConfig(tie_weights=True, layer_norm_eps=1e-12)
    )


def token_examples(count: int, seed: int = 0) -> list[dict[str, torch.Tensor]]:
    """Examples whose label is the token id modulo ``NUM_LABELS`` (learnable), the last two positions of every
    second example padded (label -100)."""
    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(3, VOCAB, (count, SEQUENCE_LENGTH), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1::2, -2:] = 0
    labels = (input_ids % NUM_LABELS).masked_fill(attention_mask == 0, -100)
    return [
        {"input_ids": i, "attention_mask": m, "labels": y}
        for i, m, y in zip(input_ids, attention_mask, labels, strict=True)
    ]


def masked_lm_examples(count: int, seed: int = 0) -> list[dict[str, torch.Tensor]]:
    """Examples whose labels are the token ids at two positions per row (-100 elsewhere)."""
    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(3, VOCAB, (count, SEQUENCE_LENGTH), generator=generator)
    labels = torch.full_like(input_ids, -100)
    labels[:, 2] = input_ids[:, 2]
    labels[:, 5] = input_ids[:, 5]
    return [
        {"input_ids": i, "attention_mask": torch.ones_like(i), "labels": y}
        for i, y in zip(input_ids, labels, strict=True)
    ]


def batch_of(examples: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {key: torch.stack([example[key] for example in examples]) for key in examples[0]}


def weights_digest(model: nn.Module) -> str:
    """A SHA-256 over every parameter and buffer (names, dtypes, shapes and bytes), in name order."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def subprocess_environment() -> dict[str, str]:
    """The environment for a child Python: this checkout first on the path (for the 4.57 venv, where the
    package is not installed), and no hub access."""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), environment.get("PYTHONPATH")]))
    environment["HF_HUB_OFFLINE"] = "1"
    environment.setdefault("OMP_NUM_THREADS", "1")
    return environment


PYTHON = sys.executable


def pyproject_value(pattern: str) -> str:
    """The first group of ``pattern`` (a regular expression, multiline) in pyproject.toml.

    A regular expression, not tomllib: the package supports Python 3.10, which has no TOML parser.
    """
    found = re.search(pattern, (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"), re.MULTILINE)
    assert found is not None, f"pyproject.toml has nothing matching {pattern!r}"
    return found.group(1)
