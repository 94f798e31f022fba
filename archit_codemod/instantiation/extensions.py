"""Models with head that feed the base model differently from ``B x L`` token batches.

- :class:`ForNestedBatches`: ``B x C x L`` inputs (C candidates per example, as in multiple choice) go through the
  base model as ``B*C x L`` and come back as ``B x C x L x H``.
- :class:`ForTokensGroupedByWord`: ``B x W x S`` inputs (W words of up to S subword tokens each) give one vector per
  word, with a learnt mix of the last N layers, FIRST/LAST/MEAN pooling of each word's tokens, and striding over
  inputs longer than the base model's context.

Both override only :meth:`~.abstracts.ModelWithHead.callBaseModel`, the seam between base model and head, and keep
``ModelWithHead.forward``. Both are abstract like :class:`~.abstracts.ModelWithHead`: a task
(``ForSingleAnswerMultipleChoice``, ``ForDependencyParsing``) adds the head and the loss.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import torch
from transformers.modeling_outputs import BaseModelOutputWithPoolingAndNoAttention

from archit_codemod.instantiation.abstracts.base_model import BaseModel
from archit_codemod.instantiation.abstracts.model_with_head import ModelWithHead
from archit_codemod.instantiation.configs import CombinedConfig
from archit_codemod.instantiation.layers import ScalarMix

try:  # transformers 5: init functions that leave parameters loaded from a checkpoint alone
    from transformers import initialization as _init
except ImportError:  # transformers 4.57
    _init = torch.nn.init

__all__ = [
    "ForNestedBatches",
    "ForTokensGroupedByWord",
    "PoolingAndStridingConfig",
    "SubwordPooling",
    "flattenNestedBatches",
    "unflattenNestedBatches",
]

BaseOutput = BaseModelOutputWithPoolingAndNoAttention


class SubwordPooling(str, enum.Enum):
    """How the vectors of a word's subword tokens become one word vector (Ács et al., EACL 2021)."""

    FIRST = "first"
    LAST = "last"
    MEAN = "mean"


@dataclass
class PoolingAndStridingConfig:
    """Settings of :class:`ForTokensGroupedByWord`.

    Args:
        layer_pooling: number N of last layers mixed per token (learnt softmax weights and scale, see
            :class:`~.layers.ScalarMix`); 1 uses the last layer as it is.
        word_pooling: how each word's subword vectors are pooled into one.
        stride: how many tokens each context window moves when the input is longer than the base model's
            context; at least 1, and at most the context length (a larger stride counts as the context length).
    """

    layer_pooling: int = 1
    word_pooling: SubwordPooling = SubwordPooling.MEAN
    stride: int = 256

    def __post_init__(self) -> None:
        self.word_pooling = SubwordPooling(self.word_pooling)  # also accepts "mean", as read back from JSON
        if self.layer_pooling < 1:
            raise ValueError(
                f"layer_pooling must be at least 1 (the last layer alone), got {self.layer_pooling}."
            )
        if self.stride < 1:
            raise ValueError(f"stride must be at least 1 token, got {self.stride}.")


BaseModelExtendedConfig = PoolingAndStridingConfig  # the seed's older name


def _requireInputIdsOfRank3(model: ModelWithHead, input_ids: torch.Tensor | None, layout: str) -> None:
    if input_ids is None:
        raise ValueError(f"{type(model).__name__} needs input_ids (inputs_embeds cannot be regrouped).")
    if input_ids.dim() != 3:
        raise ValueError(
            f"{type(model).__name__} expects input_ids of shape {layout}, got {tuple(input_ids.shape)}."
        )


########################################################################################################################
#   Nested batches
########################################################################################################################


def flattenNestedBatches(output: BaseOutput, attention_mask: torch.Tensor) -> tuple[BaseOutput, torch.Tensor]:
    """``B1 x B2 x L x H`` output and ``B1 x B2 x L`` mask -> ``B1*B2 x L x H`` and ``B1*B2 x L``."""
    leading = output.last_hidden_state.shape[:2]

    def flat(tensor: torch.Tensor | None) -> torch.Tensor | None:
        return None if tensor is None else tensor.flatten(0, 1)

    flattened = BaseOutput(
        last_hidden_state=flat(output.last_hidden_state),
        pooler_output=flat(output.pooler_output),
        hidden_states=None if output.hidden_states is None else tuple(flat(t) for t in output.hidden_states),
    )
    return flattened, attention_mask.reshape(leading.numel(), -1)


def unflattenNestedBatches(output: BaseOutput, B1: int, B2: int) -> BaseOutput:
    """Inverse of :func:`flattenNestedBatches` on the output: ``B1*B2 x ...`` -> ``B1 x B2 x ...``."""

    def unflat(tensor: torch.Tensor | None) -> torch.Tensor | None:
        return None if tensor is None else tensor.unflatten(0, (B1, B2))

    return BaseOutput(
        last_hidden_state=unflat(output.last_hidden_state),
        pooler_output=unflat(output.pooler_output),
        hidden_states=None
        if output.hidden_states is None
        else tuple(unflat(t) for t in output.hidden_states),
    )


class ForNestedBatches(ModelWithHead):
    """Inputs ``B x C x L``: C sequences per example (for instance a question paired with each of C answers).

    The base model sees them as ``B*C x L``; the head receives ``B x C x L x H`` (pooler output ``B x C x H``,
    when the base model has one) and the ``B x C x L`` attention mask. C may differ from batch to batch.
    """

    def callBaseModel(
        self,
        input_ids: torch.Tensor | None,
        attention_mask: torch.Tensor | None,
        do_drop_intermediates: bool,
        **kwargs: Any,
    ) -> tuple[BaseOutput, torch.Tensor]:
        _requireInputIdsOfRank3(self, input_ids, "B x C x L (C sequences per example)")
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        B, C, L = input_ids.shape
        # Other per-token inputs (token_type_ids, ...) are nested like input_ids.
        flat_kwargs = {
            key: value.flatten(0, 1)
            if isinstance(value, torch.Tensor) and value.shape[:2] == (B, C)
            else value
            for key, value in kwargs.items()
        }
        flat_output = self.model(
            input_ids=input_ids.flatten(0, 1),
            attention_mask=attention_mask.flatten(0, 1),
            do_drop_intermediates=do_drop_intermediates,
            **flat_kwargs,
        )
        return unflattenNestedBatches(flat_output, B, C), attention_mask


########################################################################################################################
#   Tokens grouped by word
########################################################################################################################


class ForTokensGroupedByWord(ModelWithHead):
    """Inputs ``B x W x S``: per example, W words of at most S subword tokens, padded with the pad token id.

    The head receives one vector per word, ``B x W x H``, and a ``B x W`` mask of the words that have tokens.

    How a word vector is made:

    1. **Flattening.** Each example's tokens are read word by word, left to right, dropping pad tokens, into one
       sequence of T tokens. Within a word, the tokens come first and the padding after (``[t1, t2, pad]``,
       never ``[t1, pad, t2]``); words consisting only of padding are padding words.
    2. **Striding.** With context length C (``base_model_config``'s) and stride s (a configured stride above C
       counts as C: windows that do not overlap), window k
       holds tokens ``[k*s, k*s + C)`` (cut at T); windows are k = 0, 1, ..., K with
       ``K = ceil(max(T - C, 0) / s)``. Window 0 gives the vectors of tokens ``0 .. C-1``; window k >= 1 gives
       the vectors of the s tokens it is the first to see, ``[(k-1)*s + C, k*s + C)``: its own positions C - s and
       later. So the output for T tokens is the concatenation, along the token axis, of
       ``base(tokens[0:C])`` and, for k = 1..K, ``base(tokens[k*s : k*s + C])[C - s:]``: every token after the
       first window is encoded with the C - s tokens before it as context. Each window is a separate base model
       call; windows after the first start mid-sentence (no BOS/CLS is inserted). When T <= C this is one call on
       the whole sequence. Examples of a batch with no tokens left in a window are not run through it.
    3. **Layer pooling.** Per token, the last N hidden states are mixed with learnt softmax weights
       (``layer_pooling = N``; with N = 1 the last hidden state is used as it is).
    4. **Subword pooling.** The vectors of each word's tokens become one: the FIRST token's, the LAST token's,
       or their MEAN. Padding words get the zero vector.

    The pad token id comes from ``config.base_model_config.pad_token_id``. Loss terms that modules inside the base
    model add (see :mod:`~.mixins`) are those of the last window.
    """

    def __init__(self, config: CombinedConfig, base_model: BaseModel | None = None):
        super().__init__(config, base_model=base_model)
        pooling = self.poolingAndStridingConfig()
        standard = self.model.standardiseConfig(self.config.base_model_config)
        self.hidden_size = standard.hidden_size
        self.context_length = standard.context_length
        self.pad_token_id = self.config.base_model_config.pad_token_id
        if self.pad_token_id is None:
            raise ValueError(
                f"{type(self).__name__} pads words with the pad token id, but the base model config "
                f"({type(self.config.base_model_config).__name__}) has pad_token_id=None. Set it to your tokenizer's "
                f"pad token id before building the model: config.pad_token_id = tokenizer.pad_token_id."
            )
        if pooling.layer_pooling > standard.num_hidden_layers + 1:
            raise ValueError(
                f"layer_pooling={pooling.layer_pooling} asks for more layers than the base model has "
                f"({standard.num_hidden_layers} layers plus the embeddings)."
            )
        # ScalarMix starts as the plain mean by construction; _init_weights repeats that for a checkpoint lacking it.
        self.scalar_mix = ScalarMix(pooling.layer_pooling) if pooling.layer_pooling > 1 else None
        if self.scalar_mix is not None:
            reference = next(iter(self.model.parameters()), None)
            if reference is not None and reference.device.type != "meta":
                self.scalar_mix.to(device=reference.device, dtype=reference.dtype)

    def poolingAndStridingConfig(self) -> PoolingAndStridingConfig:
        """Where the settings live; by default the head config's ``extended_model_config`` field."""
        pooling = getattr(self.config.head_config, "extended_model_config", None)
        if not isinstance(pooling, PoolingAndStridingConfig):
            raise TypeError(
                f"{type(self).__name__} reads its PoolingAndStridingConfig from head_config.extended_model_config, but "
                f"{type(self.config.head_config).__name__} has {pooling!r} there."
            )
        return pooling

    def _init_weights(self, module: torch.nn.Module) -> None:
        super()._init_weights(module)
        if isinstance(module, ScalarMix):  # start as the plain mean of the layers
            _init.zeros_(module.weights)
            _init.ones_(module.gamma)

    def callBaseModel(
        self,
        input_ids: torch.Tensor | None,
        attention_mask: torch.Tensor | None,
        do_drop_intermediates: bool,
        **kwargs: Any,
    ) -> tuple[BaseOutput, torch.Tensor]:
        """``attention_mask`` is ignored: which positions are tokens follows from the pad token id."""
        _requireInputIdsOfRank3(self, input_ids, "B x W x S (words x subword tokens per word)")
        is_token = input_ids.ne(self.pad_token_id)  # B x W x S
        if (is_token[..., 1:] & ~is_token[..., :-1]).any():
            raise ValueError(
                "Some word has padding before one of its tokens. Put each word's tokens first and its padding after."
            )
        tokens_per_example = is_token.sum(dim=(1, 2))  # B
        B, T = input_ids.shape[0], int(tokens_per_example.max().item()) if input_ids.numel() else 0
        # Flatten: example b's tokens, word after word, left-aligned in a B x T matrix.
        token_mask = torch.arange(T, device=input_ids.device).unsqueeze(0) < tokens_per_example.unsqueeze(1)
        tokens = input_ids.new_full((B, T), self.pad_token_id)
        tokens[token_mask] = input_ids[is_token]

        token_vectors = self._encodeWithStriding(tokens, token_mask, **kwargs)  # B x T x H

        # Back to B x W x S x H (zeros at padding), then pool each word's tokens.
        grouped = token_vectors.new_zeros(*is_token.shape, token_vectors.shape[-1])
        grouped[is_token] = token_vectors[token_mask]
        word_lengths = is_token.sum(dim=-1)  # B x W
        pooling = self.poolingAndStridingConfig().word_pooling
        if pooling == SubwordPooling.FIRST:
            words = grouped[:, :, 0]
        elif pooling == SubwordPooling.LAST:
            last = (word_lengths - 1).clamp(min=0)
            words = grouped.gather(2, last[..., None, None].expand(-1, -1, 1, grouped.shape[-1])).squeeze(2)
        else:
            words = grouped.sum(dim=2) / word_lengths.clamp(min=1).unsqueeze(-1).to(grouped.dtype)
        word_mask = word_lengths.gt(0).long()
        return BaseOutput(last_hidden_state=words, pooler_output=None, hidden_states=None), word_mask

    def _encodeWithStriding(
        self, tokens: torch.Tensor, token_mask: torch.Tensor, **kwargs: Any
    ) -> torch.Tensor:
        """``B x T`` tokens -> ``B x T x H`` layer-pooled vectors, window by window as the class docstring says."""
        T = tokens.shape[1]
        C = T if self.context_length is None else self.context_length
        s = min(self.poolingAndStridingConfig().stride, C)  # a longer stride would skip tokens
        last_window = -(-max(T - C, 0) // s)  # ceil division
        pieces = []
        for k in range(last_window + 1):
            start = k * s
            window_vectors = self._encodeWindow(
                tokens[:, start : start + C], token_mask[:, start : start + C], **kwargs
            )
            pieces.append(window_vectors if k == 0 else window_vectors[:, C - s :])
        return torch.cat(pieces, dim=1)

    def _encodeWindow(self, tokens: torch.Tensor, mask: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        # Examples without tokens in this window are left out: a fully masked row can make attention NaN.
        active = mask.any(dim=1)
        if not active.any():
            return tokens.new_zeros(*tokens.shape, self.hidden_size, dtype=self.model.dtype)
        output = self.model(
            input_ids=tokens[active],
            attention_mask=mask[active].long(),
            do_drop_intermediates=self.scalar_mix is None,
            **kwargs,
        )
        if self.scalar_mix is None:
            vectors = output.last_hidden_state
        else:
            vectors = self.scalar_mix(output.hidden_states[-self.scalar_mix.n_layers :])
        if bool(active.all()):
            return vectors
        full = vectors.new_zeros(tokens.shape[0], *vectors.shape[1:])
        full[active] = vectors
        return full
