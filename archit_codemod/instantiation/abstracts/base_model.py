"""The base model: a transformers model (its *core*) behind one ``forward``.

``forward(input_ids, attention_mask) -> last_hidden_state, hidden_states, pooler_output`` whatever the architecture,
and a standard view of its config (:class:`~archit_codemod.instantiation.configs.BaseModelConfig`) for heads.
:class:`~archit_codemod.instantiation.basemodels.TransformersBaseModel` implements it for any transformers model class.
"""

from __future__ import annotations

import os
from abc import abstractmethod
from typing import Any, Generic, TypeVar

import torch
from torch import nn
from transformers import AutoConfig, PretrainedConfig, PreTrainedModel
from transformers.models.auto.modeling_auto import (
    MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
    MODEL_FOR_MASKED_LM_MAPPING_NAMES,
)

from archit_codemod.instantiation.abstracts.core_support import AttentionSupportFollowsCore
from archit_codemod.instantiation.abstracts.initialisation import HEAD_INITIALISER_STD, initialiseModule
from archit_codemod.instantiation.configs import BaseModelConfig
from archit_codemod.instantiation.loading import hubKwargs
from archit_codemod.instantiation.mixins import (
    LoggingState,
    LossState,
    ReportDiagnosticsMixin,
    StatefulLossMixin,
)
from archit_codemod.instantiation.outputs import BaseModelOutputWithCache, cacheOf

__all__ = ["PC", "BaseModel"]

PC = TypeVar("PC", bound=PretrainedConfig)


class BaseModel(AttentionSupportFollowsCore, PreTrainedModel, Generic[PC]):
    """Wraps a transformers model (the *core*) so that every architecture answers the same ``forward``.

    Subclasses say which core class they wrap (:meth:`coreClass`), how to build it (:meth:`buildCore`) and how to
    read their config (:meth:`standardiseConfig`). :class:`~.basemodels.TransformersBaseModel` implements all
    three generically; per-architecture classes only state what differs.

    The core is the submodule ``core`` (``base_model_prefix``), so state-dict keys are ``core.<core's keys>`` and
    ``base_model`` (transformers' own property, driven by ``base_model_prefix``) is the core.
    """

    config_class = PretrainedConfig
    base_model_prefix = "core"

    def __init__(self, config: PC, core: PreTrainedModel | None = None):
        """Build the core from ``config``, or wrap ``core`` (already built or loaded, with ``core.config is config``)."""
        super().__init__(config)
        self.core = core if core is not None else self.buildCore(config)
        self.loss_state = LossState()
        self.logging_state = LoggingState()
        self.post_init()

    # --- What subclasses specify ---------------------------------------------------------------------------------

    @classmethod
    def configClass(cls) -> type[PC]:
        """The transformers config class of the core."""
        return cls.config_class

    @classmethod
    @abstractmethod
    def coreClass(cls) -> type[PreTrainedModel]:
        """The transformers class of the core (``RobertaModel``, ...)."""
        raise NotImplementedError

    @classmethod
    def coreClassForConfig(cls, config: PC) -> type[PreTrainedModel]:
        """The core class for this config. Wrappers of several architectures (``AutoBaseModel``) override this."""
        return cls.coreClass()

    @classmethod
    @abstractmethod
    def buildCore(cls, config: PC) -> PreTrainedModel:
        """A new core with freshly initialised weights."""
        raise NotImplementedError

    @classmethod
    @abstractmethod
    def standardiseConfig(cls, config: PC) -> BaseModelConfig:
        """The :class:`BaseModelConfig` view of the core's config."""
        raise NotImplementedError

    @classmethod
    def coreFromPretrained(
        cls, checkpoint: str | os.PathLike, **kwargs: Any
    ) -> tuple[PreTrainedModel, dict[str, Any]]:
        """Load only the core from a transformers checkpoint (base model or model with head), with the core class's
        own public ``from_pretrained``. Returns the core and transformers' loading info (``unexpected_keys`` are the
        checkpoint weights the core did not use, e.g. a pre-trained head)."""
        core, info = cls.coreClass().from_pretrained(checkpoint, output_loading_info=True, **kwargs)
        return core, info

    # --- Construction ---------------------------------------------------------------------------------------------

    @classmethod
    def from_config(cls, config: PC) -> BaseModel[PC]:
        return cls(config)

    @classmethod
    def from_pretrained(cls, checkpoint: str | os.PathLike, *model_args: Any, **kwargs: Any) -> BaseModel[PC]:
        """Load from a checkpoint this wrapper class saved (its ``architectures`` name the class), or from any
        transformers checkpoint of the core, base model or model with head: only the core's weights are used
        (:meth:`coreFromPretrained`; for an encoder-decoder checkpoint, see :class:`~.basemodels.AutoBaseModel`).
        Keyword arguments (``dtype``, ``device_map``, ``attn_implementation``, ...) go to transformers'
        ``from_pretrained``; ``output_loading_info=True`` returns transformers' loading info too."""
        config_dict, _ = PretrainedConfig.get_config_dict(checkpoint, **hubKwargs(kwargs))
        if cls.__name__ in (config_dict.get("architectures") or ()):
            if kwargs.get("config") is None:
                kwargs["config"] = AutoConfig.from_pretrained(checkpoint, **hubKwargs(kwargs))
            return super().from_pretrained(checkpoint, *model_args, **kwargs)
        output_loading_info = kwargs.pop("output_loading_info", False)
        core, info = cls.coreFromPretrained(checkpoint, **kwargs)
        model = cls.fromCore(core)
        return (model, info) if output_loading_info else model

    @classmethod
    def fromCore(cls, core: PreTrainedModel) -> BaseModel[PC]:
        """Wrap an existing core (for instance one loaded with ``from_pretrained``) without touching its weights."""
        return cls(core.config, core=core)

    @classmethod
    def _staticCoreClass(cls) -> type | None:
        try:
            return cls.coreClass()
        except (NotImplementedError, TypeError, AttributeError):
            return None

    def _coreClassOfInstance(self) -> type | None:
        core = self.__dict__.get("_modules", {}).get("core")
        if core is not None:
            return type(core)
        try:
            return type(self).coreClassForConfig(self.config)
        except (NotImplementedError, TypeError, AttributeError, ValueError):
            return None

    @property
    def base_model(self) -> PreTrainedModel:
        """The core (what transformers' ``base_model`` returns for ``base_model_prefix = "core"``)."""
        return self.core

    def get_input_embeddings(self) -> nn.Module:
        return self.core.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.core.set_input_embeddings(value)

    def _init_weights(self, module: nn.Module) -> None:
        # Only reached for modules a subclass adds to the wrapper itself: the core brings its own _init_weights.
        initialiseModule(module, getattr(self.config, "initializer_range", HEAD_INITIALISER_STD))

    # --- Running --------------------------------------------------------------------------------------------------

    def coreToRun(self) -> nn.Module:
        """The module ``forward`` calls: the core, or the part of it that encodes (the encoder of a whole
        encoder-decoder model)."""
        return self.core

    def coreForwardKwargs(self) -> dict[str, Any]:
        """Extra keyword arguments for every call of the core (e.g. ``use_cache=False`` for decoders)."""
        return {}

    def attendsCausally(self) -> bool:
        """Whether each position of the core sees only itself and the positions before it, as a causal language model
        needs (``ForCausalLM`` refuses to generate over a core that does not).

        Read from transformers' own registries, by the core config's ``model_type``: an architecture with a causal-LM
        class and no masked-LM class is a decoder (GPT-2, Llama, Mamba, ...); one with both is an encoder that
        decodes only when its config says ``is_decoder=True`` (BERT, RoBERTa); one without a causal-LM class, and the
        encoder of an encoder-decoder model, attend to both sides. Wrappers of cores these registries do not describe
        override this."""
        model_type = getattr(self.config, "model_type", None)
        if getattr(self.config, "is_encoder_decoder", False):
            return False
        if model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
            return False
        if model_type in MODEL_FOR_MASKED_LM_MAPPING_NAMES:
            return bool(getattr(self.config, "is_decoder", False))
        return True

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        do_drop_intermediates: bool = True,
        **kwargs: Any,
    ) -> BaseModelOutputWithCache:
        """Run the core. ``hidden_states`` (all layers) are only returned when ``do_drop_intermediates=False``;
        ``pooler_output`` is the core's pooler output, or ``None`` when the core has no pooler.

        Other keyword arguments go to the core and win over :meth:`coreForwardKwargs` (``use_cache=True`` with a
        cache, as ``generate`` passes them); the cache the core returns is passed on (see :mod:`.outputs`)."""
        self._prepareStates()
        output = self.coreToRun()(
            input_ids=input_ids,
            attention_mask=attention_mask,
            output_hidden_states=not do_drop_intermediates,
            **{**self.coreForwardKwargs(), **kwargs},
        )
        return BaseModelOutputWithCache(
            last_hidden_state=output.last_hidden_state,
            pooler_output=getattr(output, "pooler_output", None),
            hidden_states=None if do_drop_intermediates else output.hidden_states,
            **cacheOf(output),
        )

    def _prepareStates(self) -> None:
        # Registered at every forward rather than once, so modules swapped in after construction take part too.
        self.loss_state.reset()
        self.logging_state.reset()
        for module in self.modules():
            if isinstance(module, StatefulLossMixin):
                module.registerLoss(self.loss_state)
            if isinstance(module, ReportDiagnosticsMixin):
                module.registerLog(self.logging_state)

    def computeLoss(self) -> torch.Tensor | None:
        """Sum of the loss terms that modules inside the core added during the last forward, or ``None``."""
        return self.loss_state.total()

    def diagnostics(self) -> dict[str, Any]:
        """Values that modules inside the core reported during the last forward."""
        return dict(self.logging_state.values)
