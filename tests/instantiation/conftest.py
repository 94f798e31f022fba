"""Fixtures of the instantiation core tests: tiny transformers checkpoints saved to temporary folders (no hub)."""

from pathlib import Path

import pytest
import torch
import transformers

from archit_codemod.instantiation import basemodels

VOCAB = 99


def tiny_config(name: str) -> transformers.PretrainedConfig:
    """A tiny config of one of the architectures that have a dedicated wrapper (hidden size 32, 2 layers, 4 heads)."""
    bert_like = dict(
        vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
        max_position_embeddings=64, pad_token_id=0,
    )  # fmt: skip
    if name == "roberta":
        return transformers.RobertaConfig(**bert_like)
    if name == "bert":
        return transformers.BertConfig(**bert_like)
    if name == "deberta":
        return transformers.DebertaConfig(**bert_like)
    if name == "deberta-v2":
        return transformers.DebertaV2Config(**bert_like)
    if name == "gpt2":
        return transformers.GPT2Config(
            vocab_size=VOCAB, n_embd=32, n_layer=2, n_head=4, n_inner=37, n_positions=64,
            pad_token_id=0, bos_token_id=1, eos_token_id=2,
        )  # fmt: skip
    if name == "modernbert":
        return transformers.ModernBertConfig(
            vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=38,
            max_position_embeddings=64, local_attention=16, pad_token_id=0, bos_token_id=1, eos_token_id=2,
            cls_token_id=1, sep_token_id=2,
        )  # fmt: skip
    if name == "canine":
        return transformers.CanineConfig(
            hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
            max_position_embeddings=256, num_hash_functions=4, num_hash_buckets=64, downsampling_rate=2,
            local_transformer_stride=8, pad_token_id=0,
        )  # fmt: skip
    raise KeyError(name)


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
    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(3, VOCAB, (batch, length), generator=generator)
    attention_mask = torch.ones(batch, length, dtype=torch.long)
    attention_mask[1, -2:] = 0
    return input_ids, attention_mask


@pytest.fixture(scope="session")
def roberta_base_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved transformers RobertaModel (with its pooler: the wrapper must drop it)."""
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("roberta-base-model")
    transformers.RobertaModel(tiny_config("roberta")).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def roberta_mlm_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved transformers RobertaForMaskedLM: a model with its own head."""
    torch.manual_seed(1)
    folder = tmp_path_factory.mktemp("roberta-mlm")
    transformers.RobertaForMaskedLM(tiny_config("roberta")).save_pretrained(folder)
    return folder
