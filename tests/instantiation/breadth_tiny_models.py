"""Tiny configs of every architecture the breadth tests cover, and helpers to save them as checkpoints.

A plain module, imported by name by the breadth tests and by the core tests' conftest (for the configs of the
architectures that have a dedicated wrapper). Every config has hidden size 32, 2 layers, 4 heads, a 99-token vocabulary (CANINE reads code points) and
64 positions, with pad token id 0.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import transformers

VOCAB = 99
CONTEXT = 64
PAD = 0

BERT_LIKE = dict(
    vocab_size=VOCAB,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    max_position_embeddings=CONTEXT,
    pad_token_id=PAD,
)
_LLAMA_LIKE = dict(
    vocab_size=VOCAB,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    intermediate_size=37,
    max_position_embeddings=CONTEXT,
    pad_token_id=PAD,
)


@dataclass(frozen=True)
class TinyArchitecture:
    """One architecture: how to configure it tiny, and which transformers class gives its reference outputs."""

    name: str
    make_config: Callable[[], transformers.PretrainedConfig]
    # The transformers class whose ``last_hidden_state`` our base model must reproduce exactly.
    reference_class: type
    # Decoders see only the left context; used to pick heads that make sense for the architecture.
    is_decoder: bool = False
    has_vocabulary: bool = True


ARCHITECTURES: list[TinyArchitecture] = [
    TinyArchitecture("bert", lambda: transformers.BertConfig(**BERT_LIKE), transformers.BertModel),
    TinyArchitecture("roberta", lambda: transformers.RobertaConfig(**BERT_LIKE), transformers.RobertaModel),
    TinyArchitecture(
        "xlm-roberta", lambda: transformers.XLMRobertaConfig(**BERT_LIKE), transformers.XLMRobertaModel
    ),
    TinyArchitecture(
        "distilbert",
        lambda: transformers.DistilBertConfig(
            vocab_size=VOCAB,
            dim=32,
            n_layers=2,
            n_heads=4,
            hidden_dim=37,
            max_position_embeddings=CONTEXT,
            pad_token_id=PAD,
        ),
        transformers.DistilBertModel,
    ),
    TinyArchitecture(
        "albert", lambda: transformers.AlbertConfig(embedding_size=16, **BERT_LIKE), transformers.AlbertModel
    ),
    TinyArchitecture(
        "electra",
        lambda: transformers.ElectraConfig(embedding_size=16, **BERT_LIKE),
        transformers.ElectraModel,
    ),
    TinyArchitecture("deberta", lambda: transformers.DebertaConfig(**BERT_LIKE), transformers.DebertaModel),
    TinyArchitecture(
        "deberta-v2", lambda: transformers.DebertaV2Config(**BERT_LIKE), transformers.DebertaV2Model
    ),
    TinyArchitecture(
        "modernbert",
        lambda: transformers.ModernBertConfig(
            **BERT_LIKE, local_attention=16, bos_token_id=1, eos_token_id=2, cls_token_id=1, sep_token_id=2
        ),
        transformers.ModernBertModel,
    ),
    TinyArchitecture(
        "canine",
        lambda: transformers.CanineConfig(
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=37,
            max_position_embeddings=CONTEXT * 4,
            num_hash_functions=4,
            num_hash_buckets=64,
            downsampling_rate=2,
            local_transformer_stride=8,
            pad_token_id=PAD,
        ),
        transformers.CanineModel,
        has_vocabulary=False,
    ),
    TinyArchitecture(
        "gpt2",
        lambda: transformers.GPT2Config(
            vocab_size=VOCAB,
            n_embd=32,
            n_layer=2,
            n_head=4,
            n_inner=37,
            n_positions=CONTEXT,
            pad_token_id=PAD,
            bos_token_id=1,
            eos_token_id=2,
        ),
        transformers.GPT2Model,
        is_decoder=True,
    ),
    TinyArchitecture(
        "llama", lambda: transformers.LlamaConfig(**_LLAMA_LIKE), transformers.LlamaModel, is_decoder=True
    ),
    TinyArchitecture(
        "qwen2", lambda: transformers.Qwen2Config(**_LLAMA_LIKE), transformers.Qwen2Model, is_decoder=True
    ),
    TinyArchitecture(
        "mistral",
        lambda: transformers.MistralConfig(**_LLAMA_LIKE),
        transformers.MistralModel,
        is_decoder=True,
    ),
    TinyArchitecture(
        "t5-encoder",
        lambda: transformers.T5Config(
            vocab_size=VOCAB,
            d_model=32,
            d_kv=8,
            d_ff=37,
            num_layers=2,
            num_heads=4,
            pad_token_id=PAD,
            decoder_start_token_id=PAD,
        ),
        transformers.T5EncoderModel,
    ),
]
ARCHITECTURES_BY_NAME = {architecture.name: architecture for architecture in ARCHITECTURES}


def save_base_checkpoint(architecture: TinyArchitecture, folder: Path, seed: int = 0) -> Path:
    """Save a randomly initialised transformers base model of ``architecture`` (T5: the whole encoder-decoder)."""
    torch.manual_seed(seed)
    config = architecture.make_config()
    model = transformers.AutoModel.from_config(config)
    model.save_pretrained(folder)
    return folder


def example_input_ids(batch: int = 2, length: int = 7, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Random token ids (no pad tokens) and an attention mask whose second row ends in two padding positions."""
    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(3, VOCAB, (batch, length), generator=generator)
    attention_mask = torch.ones(batch, length, dtype=torch.long)
    attention_mask[1, -2:] = 0
    return input_ids, attention_mask
