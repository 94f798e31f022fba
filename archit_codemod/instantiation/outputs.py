"""Outputs that carry a decoder's key/value cache from the core to ``generate``, whatever transformers calls it.

transformers 4.57 passes the cache as ``past_key_values``; later releases call it ``cache`` (and keep the old name
as a deprecated alias for a while). ``GenerationMixin`` finds the cache in a model's output under the name its own
release uses, so the outputs here name their cache field as the installed release does (:data:`CACHE_NAME`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import torch
from transformers.modeling_outputs import BaseModelOutputWithPast, BaseModelOutputWithPoolingAndNoAttention
from transformers.utils import ModelOutput

__all__ = [
    "CACHE_NAME",
    "CACHE_NAMES",
    "BaseModelOutputWithCache",
    "CausalLMOutputWithHead",
    "ExtractiveQAOutputWithHead",
    "ModelWithHeadOutput",
    "cacheOf",
]

# The names under which transformers releases pass and return the key/value cache, newest first.
CACHE_NAMES = ("cache", "past_key_values")
# The name the installed release uses. Releases that renamed it map the old name to the new one in every model
# output, so an output class may only have the new one as a field.
CACHE_NAME = (
    "cache" if "cache" in {field.name for field in fields(BaseModelOutputWithPast)} else "past_key_values"
)


def cacheOf(output: ModelOutput | dict[str, Any]) -> dict[str, Any]:
    """``{CACHE_NAME: cache}`` for the key/value cache that ``output`` holds, or ``{}``."""
    cache = output.get(CACHE_NAME)
    return {} if cache is None else {CACHE_NAME: cache}


# The base model's output, plus the key/value cache of a decoder called with use_cache=True (under CACHE_NAME).
if CACHE_NAME == "cache":

    @dataclass
    class BaseModelOutputWithCache(BaseModelOutputWithPoolingAndNoAttention):
        cache: Any | None = None

else:

    @dataclass
    class BaseModelOutputWithCache(BaseModelOutputWithPoolingAndNoAttention):
        past_key_values: Any | None = None


@dataclass
class ModelWithHeadOutput(ModelOutput):
    """``loss`` first (what ``Trainer`` reads), then ``logits`` (kept in training mode too), then the base output."""

    loss: torch.Tensor | None = None
    logits: torch.Tensor | Any | None = None
    base_model_output: BaseModelOutputWithPoolingAndNoAttention | None = None


# A causal language model's output, with the key/value cache for the next generate step (under CACHE_NAME).
if CACHE_NAME == "cache":

    @dataclass
    class CausalLMOutputWithHead(ModelWithHeadOutput):
        cache: Any | None = None

else:

    @dataclass
    class CausalLMOutputWithHead(ModelWithHeadOutput):
        past_key_values: Any | None = None


@dataclass
class ExtractiveQAOutputWithHead(ModelWithHeadOutput):
    """Extractive QA output: ``logits`` ``B x L x 2``, and the same scores split as transformers'
    ``*ForQuestionAnswering`` models return them (``start_logits``, ``end_logits``: ``B x L``), which the
    question-answering pipeline reads."""

    start_logits: torch.Tensor | None = None
    end_logits: torch.Tensor | None = None
