"""The three abstractions of instantiation: a base model, a head, and a model with head.

- :class:`BaseModel` wraps a transformers model (its *core*) behind one interface:
  ``forward(input_ids, attention_mask) -> last_hidden_state, hidden_states, pooler_output``.
- :class:`Head` turns that output into logits.
- :class:`ModelWithHead` (a ``PreTrainedModel`` with a :class:`~.configs.CombinedConfig`) runs both and computes
  the task's loss. Task classes (``ForMaskedLM``, ...) pick the head class and the loss.

Everything goes through transformers' public API: ``save_pretrained``/``from_pretrained`` of ``PreTrainedModel``
work unchanged (safetensors, sharding, ``dtype``, ``device_map``) because a ``ModelWithHead`` is built from its
config alone. No underscore method of ``PreTrainedModel``/``PretrainedConfig`` is overridden; only the class
attributes transformers documents for model authors are set (``config_class``, ``base_model_prefix``,
``_tied_weights_keys``, ``_init_weights``, the attention support flags), and public methods are extended
(``from_pretrained`` for the kinds of checkpoint, ``save_pretrained`` for standalone folders,
``get_correct_experts_implementation`` to leave the experts implementation to the core).
"""

from __future__ import annotations

import logging
import os
from abc import abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

import torch
from torch import nn
from transformers import AutoConfig, PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import BaseModelOutputWithPoolingAndNoAttention

from archit_codemod.instantiation.bundle import SavesStandaloneFolders
from archit_codemod.instantiation.configs import (
    BaseModelConfig,
    CombinedConfig,
    HeadConfig,
    attentionImplementationOf,
)
from archit_codemod.instantiation.loading import hubKwargs, loadFromTransformersCheckpoint, loadOwnCheckpoint
from archit_codemod.instantiation.mixins import (
    LoggingState,
    LossState,
    ReportDiagnosticsMixin,
    StatefulLossMixin,
)
from archit_codemod.instantiation.outputs import BaseModelOutputWithCache, ModelWithHeadOutput, cacheOf
from archit_codemod.util import import_path

try:  # transformers 5: init functions that skip parameters already loaded from a checkpoint
    from transformers import initialization as _init
except ImportError:  # transformers 4.57: plain torch (loaded modules are skipped per module there)
    _init = torch.nn.init

__all__ = ["BaseModel", "Head", "ModelWithHead", "ModelWithHeadOutput", "initialiseModule"]

logger = logging.getLogger(__name__)

PC = TypeVar("PC", bound=PretrainedConfig)
HC = TypeVar("HC", bound=HeadConfig)

HEAD_INITIALISER_STD = 0.02


def initialiseModule(module: nn.Module, std: float = HEAD_INITIALISER_STD) -> None:
    """Initialise one module the way heads are: linear/embedding weights normal(0, std), biases 0, norms 1/0.

    Modules of other types are left alone (their children are visited separately by transformers).
    """
    if isinstance(module, nn.Linear):
        _init.normal_(module.weight, mean=0.0, std=std)
        if module.bias is not None:
            _init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        _init.normal_(module.weight, mean=0.0, std=std)
    elif (
        isinstance(module, nn.LayerNorm)
        or "LayerNorm" in type(module).__name__
        or "RMSNorm" in type(module).__name__
    ):
        if getattr(module, "weight", None) is not None:
            _init.ones_(module.weight)
        if getattr(module, "bias", None) is not None:
            _init.zeros_(module.bias)


class _FollowsCore:
    """A ``PreTrainedModel`` capability flag (``_supports_sdpa``, ...) whose value is the core class's flag.

    transformers reads these flags on the instance (during ``PreTrainedModel.__init__``, once ``self.config`` is
    set) to decide which attention implementations it may use. The wrapper supports what its core supports.
    """

    def __init__(self, default: bool = False):
        self.default = default

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type) -> bool:
        core_class = owner._staticCoreClass() if instance is None else instance._coreClassOfInstance()
        return self.default if core_class is None else bool(getattr(core_class, self.name, self.default))


class _AttentionSupportFollowsCore:
    """The ``PreTrainedModel`` capability flags, answered from the core class (see :class:`_FollowsCore`), and the
    experts implementation left to the core. Listed before ``PreTrainedModel`` among the bases, so these win over its
    class attributes."""

    _supports_sdpa = _FollowsCore()
    _supports_flash_attn = _FollowsCore()
    _supports_flash_attn_2 = _FollowsCore()
    _supports_flex_attn = _FollowsCore()
    supports_gradient_checkpointing = _FollowsCore()

    def get_correct_experts_implementation(self, requested_experts: str | None) -> str | None:
        """transformers' check of the mixture-of-experts implementation (transformers 5). The wrapper has no experts of
        its own, and its core checks the implementation it is built or loaded with, so the request passes unchanged
        (``None``: the core picks its default; transformers would pick ``"eager"`` for the wrapper, in the config it
        shares with the core)."""
        return requested_experts


########################################################################################################################
#   Base model
########################################################################################################################


class BaseModel(_AttentionSupportFollowsCore, PreTrainedModel, Generic[PC]):
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


########################################################################################################################
#   Head
########################################################################################################################


class Head(nn.Module, Generic[HC]):
    """Turns a base model's output into logits. Weights are initialised by the ``ModelWithHead`` it belongs to
    (normal(0, 0.02), norms to 1/0, via ``_init_weights``), so loading a checkpoint never initialises twice."""

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

    @classmethod
    def weightsFromTransformersHead(
        cls,
        dropped_weights: dict[str, torch.Tensor],
        transformers_config: PretrainedConfig,
        base_config: BaseModelConfig,
        head_config: HC,
    ) -> dict[str, torch.Tensor] | None:
        """Map the weights of a transformers model's own head onto this head's state dict, or ``None`` (default).

        Called by :meth:`ModelWithHead.from_pretrained` for a transformers model-with-head checkpoint, with the
        checkpoint tensors the core did not use (under their checkpoint names, e.g. ``"lm_head.dense.weight"``).
        Return a complete state dict for this head when the transformers head computes the same function;
        return ``None`` when it does not fit, and the head stays freshly initialised.
        """
        return None

    @classmethod
    def mapsTransformersHeads(cls) -> bool:
        """Whether this head class maps transformers heads (overrides :meth:`weightsFromTransformersHead`), so that
        the weights a checkpoint's core leaves unused are worth reading."""
        return cls.weightsFromTransformersHead.__func__ is not Head.weightsFromTransformersHead.__func__


########################################################################################################################
#   Model with head
########################################################################################################################


class ModelWithHead(_AttentionSupportFollowsCore, SavesStandaloneFolders, PreTrainedModel, Generic[PC, HC]):
    """A base model and a head, as one ``PreTrainedModel``. Subclasses (tasks) choose the head and the loss.

    Fields: ``model`` (the :class:`BaseModel`), ``head`` (the :class:`Head`), ``loss`` (the loss module).
    The config is a :class:`CombinedConfig`, from which the whole model can be rebuilt, so transformers' public
    ``save_pretrained`` and ``PreTrainedModel.from_pretrained`` machinery apply unchanged.
    """

    config_class = CombinedConfig
    base_model_prefix = "model"
    # Trainer must not pass num_items_in_batch through **kwargs: those go to the core.
    accepts_loss_kwargs = False
    # The config's problem_type for this task, as transformers' sequence classifiers set it (the text-classification
    # pipeline picks softmax, sigmoid or nothing from it).
    problem_type: ClassVar[str | None] = None
    # The transformers auto classes that rebuild this task from a saved folder, most specific first (AutoModel
    # rebuilds every task and is not listed); they name the task in a standalone folder's auto_map.
    auto_classes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: CombinedConfig, base_model: BaseModel | None = None):
        """Build from ``config`` alone, or around an existing ``base_model`` (whose config must be
        ``config.base_model_config``). Only the head is initialised; an existing base model keeps its weights."""
        if not isinstance(config, CombinedConfig):
            raise TypeError(
                f"{type(self).__name__} needs a CombinedConfig, got {type(config).__name__}. To put a head on a "
                f"transformers checkpoint, use {type(self).__name__}.from_pretrained(path, BaseModelClass, head_config)."
            )
        self.refuseConfigOfOtherTask(config)
        if config.head_config is None:
            raise ValueError(f"{type(self).__name__} needs config.head_config; the CombinedConfig has none.")
        if config.model_with_head_class is None:
            config.model_with_head_class = import_path(type(self))
        if config.problem_type is None and self.problem_type is not None:
            config.problem_type = self.problem_type
        super().__init__(config)

        if base_model is None:
            base_model = config.baseModelClass()(config.base_model_config)
            # A wrapper may wrap a part of what the config describes, with that part's config (AutoBaseModel wraps
            # the encoder of an EncoderDecoderConfig): the combined config describes what was built.
            config.base_model_config = base_model.config
        elif base_model.config is not config.base_model_config:
            raise ValueError("base_model.config must be the very object config.base_model_config.")
        self.model = base_model
        self.head = self.buildHead(self.model.standardiseConfig(config.base_model_config), config.head_config)
        self.loss = self.buildLoss()

        tied = self._tiedOutputEmbeddingKeys()
        if tied:
            # Per instance: the embedding's name depends on the core. transformers 5 reads the dict
            # {target: source}; transformers 4.57 iterates it for the target names (and ties through
            # get_output_embeddings/get_input_embeddings).
            self._tied_weights_keys = tied
        self.post_init()

        reference = next(iter(self.model.parameters()), None)
        if reference is not None and not reference.is_meta:
            # A loaded base model may be in another dtype or on another device than the default the head got. (On
            # the meta device, as from_pretrained builds models, the weights are placed when they are loaded.)
            self._allocateUntiedProjection(reference.device)
            self.head.to(device=reference.device, dtype=self.model.dtype)

    # --- What subclasses specify ---------------------------------------------------------------------------------

    @classmethod
    @abstractmethod
    def headClass(cls) -> type[Head[HC]]:
        raise NotImplementedError

    @classmethod
    def buildHead(cls, base_model_config: BaseModelConfig, head_config: HC) -> Head[HC]:
        return cls.headClass().fromConfigs(base_model_config, head_config)

    @classmethod
    @abstractmethod
    def buildLoss(cls) -> nn.Module | Callable[..., torch.Tensor]:
        raise NotImplementedError

    @abstractmethod
    def computeLoss(self, logits: Any, labels: Any) -> torch.Tensor:
        """The task loss of this batch (the base model's accumulated loss terms are added by ``forward``)."""
        raise NotImplementedError

    # --- Running --------------------------------------------------------------------------------------------------

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        labels: Any = None,
        output_hidden_states: bool = False,
        **kwargs: Any,
    ) -> ModelWithHeadOutput:
        """Base model (through :meth:`callBaseModel`), then head, then (when ``labels`` are given) the task loss plus
        the base model's loss terms. Other keyword arguments (``token_type_ids``, ...) go to the base model."""
        base_output, head_attention_mask = self.callBaseModel(
            input_ids, attention_mask, do_drop_intermediates=not output_hidden_states, **kwargs
        )
        logits = self.head(base_output, head_attention_mask)
        loss = None if labels is None else self.totalLoss(logits, labels)
        return self.buildOutput(loss, logits, base_output)

    def totalLoss(self, logits: Any, labels: Any) -> torch.Tensor:
        """The task loss (:meth:`computeLoss`) plus the loss terms added inside the base model, if any."""
        loss = self.computeLoss(logits, labels)
        base_loss = self.model.computeLoss()
        return loss if base_loss is None else loss + base_loss

    def buildOutput(
        self, loss: torch.Tensor | None, logits: Any, base_output: BaseModelOutputWithCache
    ) -> ModelWithHeadOutput:
        """The output of :meth:`forward`. Tasks whose users expect more fields (the split start and end scores of
        extractive QA, which transformers' pipelines read) return a subclass."""
        return ModelWithHeadOutput(loss=loss, logits=logits, base_model_output=base_output)

    def callBaseModel(
        self,
        input_ids: torch.Tensor | None,
        attention_mask: torch.Tensor | None,
        do_drop_intermediates: bool,
        **kwargs: Any,
    ) -> tuple[BaseModelOutputWithPoolingAndNoAttention, torch.Tensor | None]:
        """Run the base model on a batch; return its output and the attention mask the head sees.

        The seam between the base model and the head (as timm's ``forward_features``/``forward_head``): models
        that feed the base model otherwise (nested batches, words made of subword tokens) override this and keep
        ``forward``. By default, ``B x L`` inputs go to the base model as they are, with an all-ones mask when none
        is given, and the head sees the same mask.
        """
        if attention_mask is None and input_ids is not None:
            attention_mask = torch.ones(input_ids.shape[:2], dtype=torch.long, device=input_ids.device)
        base_output = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            do_drop_intermediates=do_drop_intermediates,
            **kwargs,
        )
        return base_output, attention_mask

    def _allocateUntiedProjection(self, device: torch.device) -> None:
        """Give a vocabulary projection built for tying (see ``heads.lm.vocabularyProjection``) a weight of its own
        when ``post_init`` did not tie it, initialised as the head's other weights are."""
        for module in self.head.modules():
            if any(parameter.is_meta for parameter in module.parameters(recurse=False)):
                module.to_empty(device=device, recurse=False)
                self._init_weights(module)

    def _init_weights(self, module: nn.Module) -> None:
        # Reached for the head's modules (the base model is a PreTrainedModel with its own _init_weights).
        initialiseModule(module, HEAD_INITIALISER_STD)

    def get_output_embeddings(self) -> nn.Module | None:
        """The head's vocabulary projection for language-modelling heads, ``None`` otherwise."""
        return None

    def _tiedOutputEmbeddingKeys(self) -> dict[str, str]:
        output_embeddings = self.get_output_embeddings()
        if output_embeddings is None:
            return {}
        input_embeddings = self.get_input_embeddings()
        names = {id(module): name for name, module in self.named_modules()}
        return {f"{names[id(output_embeddings)]}.weight": f"{names[id(input_embeddings)]}.weight"}

    def _coreClassOfInstance(self) -> type | None:
        model = self.__dict__.get("_modules", {}).get("model")
        if model is not None:
            return model._coreClassOfInstance()
        config = self.__dict__.get("config")
        if config is None or config.base_model_class is None or config.base_model_config is None:
            return None
        try:
            return config.baseModelClass().coreClassForConfig(config.base_model_config)
        except (NotImplementedError, TypeError, AttributeError, ValueError, ImportError):
            return None

    @classmethod
    def _staticCoreClass(cls) -> type | None:
        return None

    # --- Construction and loading ---------------------------------------------------------------------------------

    @classmethod
    def fromModelAndHeadConfig(cls, base_model: BaseModel, head_config: HC) -> ModelWithHead[PC, HC]:
        """Put a new head (initialised) on an existing base model (whose weights are kept)."""
        config = CombinedConfig(
            base_model_config=base_model.config,
            head_config=head_config,
            base_model_class=import_path(type(base_model)),
            model_with_head_class=import_path(cls),
            # The whole model attends as its base model does (transformers would otherwise pick its default).
            attn_implementation=attentionImplementationOf(base_model.config),
        )
        return cls(config, base_model=base_model)

    @classmethod
    def refuseConfigOfOtherTask(cls, config: CombinedConfig) -> None:
        """Raise ``ValueError`` when ``config`` was saved for another task class or head config class."""
        saved = config.model_with_head_class
        if saved is not None and saved not in {import_path(klass) for klass in cls.__mro__}:
            raise ValueError(
                f"This checkpoint was saved by {saved}, not by {import_path(cls)} (or a parent class of it). "
                f"Its head would be loaded into a head of another task. Load it with {saved.rsplit('.', 1)[-1]}, "
                f"or load its base model into {cls.__name__} with a new head: "
                f"{cls.__name__}.from_pretrained(path_of_base_checkpoint, BaseModelClass, head_config)."
            )
        expected = cls.headClass().configClass()
        head_config = config.head_config
        if head_config is not None and not isinstance(head_config, expected):
            raise ValueError(
                f"{cls.__name__} needs a {expected.__name__}, but the config holds a {type(head_config).__name__} "
                f"(from {config.head_config_class})."
            )

    @classmethod
    def from_pretrained(
        cls,
        checkpoint: str | os.PathLike,
        base_model_class: type[BaseModel] | None = None,
        head_config: HC | None = None,
        **kwargs: Any,
    ) -> ModelWithHead[PC, HC]:
        """Load from three kinds of checkpoint:

        1. a transformers base model (``RobertaModel``): its weights go into a new ``base_model_class``, and a new
           head is built from ``head_config`` (required);
        2. a transformers model with head (``RobertaForMaskedLM``): as 1; the checkpoint's head is dropped (the
           dropped keys are logged) unless the head class maps it (:meth:`Head.weightsFromTransformersHead`);
        3. a checkpoint saved by this package: the whole model, head included; ``base_model_class`` and
           ``head_config`` are optional and, when given, must agree with the checkpoint.

        Other keyword arguments (``dtype``, ``device_map``, ``attn_implementation``, ``revision``, ...) go to
        transformers' ``from_pretrained``. ``attn_implementation`` reaches the core's config for every kind of
        checkpoint (for 3, through the ``CombinedConfig`` constructor, which gives it to the base model's config).
        Base weights are never initialised randomly first.
        """
        config_dict, _ = PretrainedConfig.get_config_dict(checkpoint, **hubKwargs(kwargs))
        if not config_dict:  # transformers reads a folder without config.json as an empty config
            raise OSError(
                f"{checkpoint} has no config.json, so it is not a checkpoint saved with save_pretrained. Give the "
                f"folder that holds config.json next to the weights."
            )
        if config_dict.get("model_type") == CombinedConfig.model_type:
            # PreTrainedModel.from_pretrained, unchanged: config -> cls(config) on the meta device -> load the weights.
            load = super().from_pretrained
            return loadOwnCheckpoint(cls, load, checkpoint, base_model_class, head_config, **kwargs)
        return loadFromTransformersCheckpoint(
            cls, checkpoint, config_dict, base_model_class, head_config, **kwargs
        )

    def replaceHead(self, head_config: HC, task: type[ModelWithHead] | None = None) -> ModelWithHead:
        """Keep the base model and put a new, freshly initialised head on it, built from ``head_config`` (as timm's
        ``reset_classifier``): another number of labels, another layer-norm epsilon, ...

        Without ``task``, in place: the head and the combined config (head config, labels, weight tying) are
        replaced, and ``self`` is returned. With ``task``, a task class whose head takes ``head_config`` (such as
        ``ForSequenceRegression`` for a ``ForSingleLabelSequenceClassification``): a new model of that class, around
        this model's base model (not copied: the two models share it).
        """
        if task is not None and task is not type(self):
            return task.fromModelAndHeadConfig(self.model, head_config)
        expected = self.headClass().configClass()
        if not isinstance(head_config, expected):
            raise TypeError(
                f"{type(self).__name__}.replaceHead needs a {expected.__name__}, got a {type(head_config).__name__}. "
                f"Fix: pass a {expected.__name__}, or the task class its head belongs to as task=..."
            )
        head = self.buildHead(self.model.standardiseConfig(self.config.base_model_config), head_config)
        head.apply(self._init_weights)
        self.head = head.train(self.training)
        self.config.replaceHeadConfig(head_config)
        tied = self._tiedOutputEmbeddingKeys()
        if tied:
            self._tied_weights_keys = tied
            self.tie_weights()
        self._allocateUntiedProjection(self.device)
        self.head.to(device=self.device, dtype=self.model.dtype)
        return self

    def headParametersTiedToBaseModel(self) -> set[str]:
        """Names (in the head) of the head's parameters that are parameters of the base model too, such as a
        language-modelling decoder tied to the input embeddings."""
        base_parameters = {id(parameter) for parameter in self.model.parameters()}
        return {
            name
            for name, parameter in self.head.named_parameters(remove_duplicate=False)
            if id(parameter) in base_parameters
        }
