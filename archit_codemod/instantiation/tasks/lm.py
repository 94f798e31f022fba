"""Masked and causal language modelling, with the vocabulary projection tied to the input embeddings on request."""

from __future__ import annotations

import inspect
import logging
from typing import Any

import torch
from torch import nn
from transformers import GenerationConfig, GenerationMixin, PreTrainedModel
from transformers.modeling_outputs import BaseModelOutputWithPoolingAndNoAttention

from archit_codemod.instantiation.abstracts.model_with_head import ModelWithHead
from archit_codemod.instantiation.heads.lm import CausalLMHead, MaskedLMHead
from archit_codemod.instantiation.outputs import CACHE_NAMES, CausalLMOutputWithHead, cacheOf

__all__ = ["ForCausalLM", "ForMaskedLM"]

logger = logging.getLogger(__name__)

_CAUSAL_CORE_FIX = (
    "put ForCausalLM on a decoder's checkpoint (GPT-2, Llama, Qwen2, Mistral, ...); an encoder that can attend "
    "causally (BERT, RoBERTa) must be built with is_decoder=True in its config and trained as a causal language model "
    "before it generates."
)


class ForMaskedLM(ModelWithHead):
    """Labels ``B x L`` of token ids at masked positions, -100 elsewhere.

    With ``MaskedLMHeadConfig(tie_weights=True)`` the head's decoder weight is the input embedding matrix: the
    config's ``tie_word_embeddings`` follows ``tie_weights``, and transformers ties (and unties on save/load) the
    pair that ``get_output_embeddings``/``get_input_embeddings`` name.
    """

    auto_classes = ("AutoModelForMaskedLM",)

    @classmethod
    def headClass(cls) -> type[MaskedLMHead]:
        return MaskedLMHead

    @classmethod
    def buildLoss(cls) -> nn.Module:
        return nn.CrossEntropyLoss()

    def computeLoss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.loss(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1).to(logits.device))

    def get_output_embeddings(self) -> nn.Linear:
        return self.head.decoder

    def set_output_embeddings(self, new_embeddings: nn.Linear) -> None:
        self.head.decoder = new_embeddings


class _GenerationConfigOfTheBaseModel(GenerationConfig):
    """What transformers 5 derives a generation model's ``generation_config`` with (``generation_config_class``):
    a combined config holds no generation parameters of its own, so they come from the base model's config."""

    @classmethod
    def from_model_config(cls, model_config: Any) -> GenerationConfig:
        return GenerationConfig.from_model_config(getattr(model_config, "base_model_config", model_config))


class ForCausalLM(ModelWithHead, GenerationMixin):
    """Labels ``B x L`` (usually the input ids, -100 at padding): the logits at position i predict label i+1.

    A generation model as transformers defines one (``GenerationMixin`` among its bases, so ``can_generate()`` is
    true and ``generate`` works with greedy search, sampling, beam search, ...): the key/value cache goes through the
    base model to its core and back, ``logits_to_keep`` computes the head on the last positions only, and the
    ``generation_config`` comes from the core's config, or from the checkpoint's ``generation_config.json``.
    Generation needs a core that decodes causally with a cache (GPT-2, Llama, Qwen2, Mistral, ...): over a core that
    attends to both sides of each token (a masked-LM encoder, :meth:`BaseModel.attendsCausally
    <archit_codemod.instantiation.abstracts.BaseModel.attendsCausally>`), construction warns and ``generate``
    refuses.
    """

    auto_classes = ("AutoModelForCausalLM",)
    generation_config_class = _GenerationConfigOfTheBaseModel

    def __init__(self, config, base_model=None):
        super().__init__(config, base_model=base_model)
        if not hasattr(PreTrainedModel, "generation_config_class"):
            # transformers 4.57 derived it from the combined config, which holds no generation parameters of its own.
            self.generation_config = GenerationConfig.from_model_config(self.config.base_model_config)
        if not self.model.attendsCausally():
            logger.warning(
                f"{self._whyNotCausal()}: the causal language-modelling loss lets each position see the token it "
                f"predicts, and generate is refused. Fix: {_CAUSAL_CORE_FIX}"
            )

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        """transformers' ``generate``, over a core that attends causally (refused with the fix otherwise: an encoder
        would generate without a word of warning, from positions that see the whole prompt both ways)."""
        if not self.model.attendsCausally():
            raise ValueError(f"{self._whyNotCausal()}, so it cannot generate text. Fix: {_CAUSAL_CORE_FIX}")
        return super().generate(*args, **kwargs)

    def _whyNotCausal(self) -> str:
        core_config = self.model.config
        return (
            f"{type(self).__name__} is built over {type(self.model).__name__} wrapping {type(self.model.core).__name__} "
            f"(model_type {getattr(core_config, 'model_type', None)!r}), which attends to both sides of each token"
        )

    @classmethod
    def headClass(cls) -> type[CausalLMHead]:
        return CausalLMHead

    @classmethod
    def buildLoss(cls) -> nn.Module:
        return nn.CrossEntropyLoss()

    def computeLoss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        shifted_logits = logits[:, :-1, :]
        shifted_labels = labels[:, 1:].to(logits.device)
        return self.loss(shifted_logits.reshape(-1, logits.shape[-1]), shifted_labels.reshape(-1))

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool = False,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        use_cache: bool | None = None,
        logits_to_keep: int | torch.Tensor = 0,
        **kwargs: Any,
    ) -> CausalLMOutputWithHead:
        """As :meth:`ModelWithHead.forward`, with the inputs ``generate`` gives a causal language model.

        ``attention_mask`` goes to the core as it is (``None`` too: with a cache, the mask covers past and new
        tokens, so none can be made up from ``input_ids``). A cache (``cache`` or ``past_key_values``, the name of
        the installed transformers) turns ``use_cache`` on unless it is given. ``logits_to_keep``: ``0`` computes
        logits at every position, ``k > 0`` at the last ``k`` only, a tensor at the positions it lists.
        """
        generation_inputs = {"position_ids": position_ids, "inputs_embeds": inputs_embeds, **kwargs}
        has_cache = any(kwargs.get(name) is not None for name in CACHE_NAMES)
        if use_cache is not None or has_cache:
            generation_inputs["use_cache"] = bool(use_cache) if use_cache is not None else True
        base_output = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            do_drop_intermediates=not output_hidden_states,
            **self._acceptedByCore(generation_inputs),
        )
        head_input = base_output
        if not (isinstance(logits_to_keep, int) and logits_to_keep == 0):
            kept = slice(-logits_to_keep, None) if isinstance(logits_to_keep, int) else logits_to_keep
            head_input = BaseModelOutputWithPoolingAndNoAttention(
                last_hidden_state=base_output.last_hidden_state[:, kept, :],
                pooler_output=base_output.pooler_output,
                hidden_states=base_output.hidden_states,
            )
        logits = self.head(head_input, attention_mask)
        loss = None if labels is None else self.totalLoss(logits, labels)
        return CausalLMOutputWithHead(
            loss=loss, logits=logits, base_model_output=base_output, **cacheOf(base_output)
        )

    def _acceptedByCore(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """``inputs`` without the ``None`` values, and without position ids (which ``generate`` makes for any model
        that names them) when the core does not name them either."""
        inputs = {name: value for name, value in inputs.items() if value is not None}
        if "position_ids" in inputs and "position_ids" not in _namedParameters(self.model.coreToRun()):
            del inputs["position_ids"]
        return inputs

    def get_output_embeddings(self) -> nn.Linear:
        return self.head.lm_head

    def set_output_embeddings(self, new_embeddings: nn.Linear) -> None:
        self.head.lm_head = new_embeddings


def _namedParameters(module: nn.Module) -> set[str]:
    return set(inspect.signature(module.forward).parameters)
