"""The head: turns a base model's output into logits, whatever the base model's architecture."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

import torch
from torch import nn
from transformers import PretrainedConfig
from transformers.modeling_outputs import BaseModelOutputWithPoolingAndNoAttention

from archit_codemod.instantiation.configs import BaseModelConfig, HeadConfig

__all__ = ["HC", "Head", "HeadWeightMapping", "StateDict"]

HC = TypeVar("HC", bound=HeadConfig)

StateDict = dict[str, torch.Tensor]
# (the checkpoint tensors the core did not use, under their checkpoint names; the checkpoint's transformers config;
# the base model's standard config; the head config) -> the head's complete state dict, or None when the checkpoint's
# head does not compute what the head computes. See heads/reuse.py.
HeadWeightMapping = Callable[[StateDict, PretrainedConfig, BaseModelConfig, Any], StateDict | None]


class Head(nn.Module, Generic[HC]):
    """Turns a base model's output into logits. Weights are initialised by the ``ModelWithHead`` it belongs to
    (normal(0, 0.02), norms to 1/0, via ``_init_weights``), so loading a checkpoint never initialises twice.

    ``transformers_head_mapping`` declares how the head takes over the head of a transformers model-with-head
    checkpoint (``RobertaForMaskedLM``'s ``lm_head`` for a :class:`~..heads.MaskedLMHead`): a
    :data:`HeadWeightMapping`, set with ``transformers_head_mapping = staticmethod(function)`` and read through
    :meth:`transformersHeadMapping` by :meth:`ModelWithHead.from_pretrained
    <archit_codemod.instantiation.abstracts.ModelWithHead.from_pretrained>`. ``None`` (the default): the head is
    always freshly initialised.
    """

    transformers_head_mapping: ClassVar[HeadWeightMapping | None] = None

    @classmethod
    def transformersHeadMapping(cls) -> HeadWeightMapping | None:
        """The ``transformers_head_mapping`` this very class declares, or ``None``. A declaration is not inherited:
        a mapping returns the state dict of the class it was written for, and a subclass may add layers that it knows
        nothing of, so a subclass maps a transformers head only with a mapping of its own."""
        if "transformers_head_mapping" not in cls.__dict__:
            return None
        return cls.transformers_head_mapping

    def __init__(self, base_config: BaseModelConfig, head_config: HC):
        super().__init__()
        self.base_config = base_config
        self.head_config = head_config

    @abstractmethod
    def forward(
        self,
        encoder_output: BaseModelOutputWithPoolingAndNoAttention,
        attention_mask: torch.Tensor,
        **kwargs: Any,
    ) -> torch.Tensor:
        raise NotImplementedError

    @classmethod
    @abstractmethod
    def configClass(cls) -> type[HC]:
        raise NotImplementedError

    @classmethod
    @abstractmethod
    def hfEquivalentSuffix(cls) -> str:
        """Suffix of the transformers classes with the same head, e.g. ``"ForTokenClassification"``."""
        raise NotImplementedError

    @classmethod
    def assertConfigConstraints(cls, base_config: BaseModelConfig, head_config: HC) -> None:
        """Raise ``ValueError`` (with the fix) when this head cannot work with these configs."""
        if not isinstance(head_config, cls.configClass()):
            raise TypeError(
                f"{cls.__name__} needs a {cls.configClass().__name__}, got a {type(head_config).__name__}."
            )

    @classmethod
    def fromConfigs(cls, base_config: BaseModelConfig, head_config: HC) -> Head[HC]:
        cls.assertConfigConstraints(base_config, head_config)
        return cls(base_config, head_config)
