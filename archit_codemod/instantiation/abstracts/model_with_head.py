"""The model with head: a base model and a head as one ``PreTrainedModel``, with the task's loss.

Task classes (``ForMaskedLM``, ...) pick the head class and the loss. A ``ModelWithHead`` is built from its
:class:`~archit_codemod.instantiation.configs.CombinedConfig` alone, so transformers' public ``save_pretrained`` and
``PreTrainedModel.from_pretrained`` (safetensors, sharding, ``dtype``, ``device_map``) work unchanged. No underscore
method of ``PreTrainedModel``/``PretrainedConfig`` is overridden; only the class attributes transformers documents for
model authors are set (``config_class``, ``base_model_prefix``, ``_tied_weights_keys``, ``_init_weights``, the
attention support flags), and public methods are extended (``from_pretrained`` for the kinds of checkpoint,
``save_pretrained`` for standalone folders, ``get_correct_experts_implementation`` to leave the experts
implementation to the core, ``generate`` to say which tasks generate).

The config a model is given is never written to: what the model fills in (its task class, its problem type, the
config of the base model it built), or changes later (:meth:`ModelWithHead.replaceHead`), goes into a copy.
"""

from __future__ import annotations

import logging
import os
from abc import abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar, Generic

import torch
from torch import nn
from transformers import GenerationMixin, PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import BaseModelOutputWithPoolingAndNoAttention

from archit_codemod.instantiation.abstracts.base_model import PC, BaseModel
from archit_codemod.instantiation.abstracts.core_support import AttentionSupportFollowsCore
from archit_codemod.instantiation.abstracts.head import HC, Head
from archit_codemod.instantiation.abstracts.initialisation import HEAD_INITIALISER_STD, initialiseModule
from archit_codemod.instantiation.bundle import SavesStandaloneFolders
from archit_codemod.instantiation.configs import BaseModelConfig, CombinedConfig, attentionImplementationOf
from archit_codemod.instantiation.loading import (
    hubKwargs,
    loadFromTransformersCheckpoint,
    readOwnConfig,
    refuseArgumentsAgainstOwnCheckpoint,
    savedSubclass,
)
from archit_codemod.instantiation.outputs import BaseModelOutputWithCache, ModelWithHeadOutput
from archit_codemod.util import import_path

__all__ = ["ModelWithHead"]

logger = logging.getLogger(__name__)


class ModelWithHead(AttentionSupportFollowsCore, SavesStandaloneFolders, PreTrainedModel, Generic[PC, HC]):
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
        ``config.base_model_config``). Only the head is initialised; an existing base model keeps its weights.

        ``config`` itself is never written to: when it lacks what this model fills in, ``self.config`` is a copy
        with those values (see :meth:`completedConfig`)."""
        if not isinstance(config, CombinedConfig):
            raise TypeError(
                f"{type(self).__name__} needs a CombinedConfig, got {type(config).__name__}. To put a head on a "
                f"transformers checkpoint, use {type(self).__name__}.from_pretrained(path, BaseModelClass, head_config)."
            )
        self.refuseConfigOfOtherTask(config)
        if config.head_config is None:
            raise ValueError(f"{type(self).__name__} needs config.head_config; the CombinedConfig has none.")
        if base_model is None:
            base_model = config.baseModelClass()(config.base_model_config)
        elif base_model.config is not config.base_model_config:
            raise ValueError("base_model.config must be the very object config.base_model_config.")
        config = self.completedConfig(config, base_model)
        super().__init__(config)

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

    @classmethod
    def completedConfig(cls, config: CombinedConfig, base_model: BaseModel) -> CombinedConfig:
        """``config``, or a copy of it with what this task fills in: its class (``model_with_head_class``), its
        ``problem_type``, and the config of the base model built from it, when the wrapper wraps a part of what the
        config describes with that part's config (``AutoBaseModel`` wraps the encoder of an
        ``EncoderDecoderConfig``), so that the combined config describes what was built."""
        values: dict[str, Any] = {}
        if config.model_with_head_class is None:
            values["model_with_head_class"] = import_path(cls)
        if config.problem_type is None and cls.problem_type is not None:
            values["problem_type"] = cls.problem_type
        if base_model.config is not config.base_model_config:
            values["base_model_config"] = base_model.config
        return config.copyWith(**values) if values else config

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
           dropped keys are logged) unless the head class declares how it maps it (``Head.transformers_head_mapping``);
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
            config = kwargs.pop("config", None)
            if not isinstance(config, CombinedConfig):  # as transformers' auto classes pass it, or read here
                config = readOwnConfig(checkpoint, kwargs)
            saved_class = savedSubclass(cls, config)
            # A proper subclass saved it (loaded with ModelWithHead.from_pretrained, or an auto class's family of tasks).
            if saved_class is not None:
                return saved_class.from_pretrained(
                    checkpoint, base_model_class, head_config, config=config, **kwargs
                )
            refuseArgumentsAgainstOwnCheckpoint(cls, config, checkpoint, base_model_class, head_config)
            # PreTrainedModel.from_pretrained, unchanged: config -> cls(config) on the meta device -> load the weights.
            return super().from_pretrained(checkpoint, config=config, **kwargs)
        return loadFromTransformersCheckpoint(
            cls, checkpoint, config_dict, base_model_class, head_config, **kwargs
        )

    def replaceHead(self, head_config: HC, task: type[ModelWithHead] | None = None) -> ModelWithHead:
        """Reset the head, in place, as timm's ``reset_classifier``: keep the base model and put a new, freshly
        initialised head of this task on it, built from ``head_config`` (another number of labels, another layer-norm
        epsilon, weight tying, ...). The model's config becomes a copy that describes the new head (head config,
        labels, weight tying); the config it had is left as it was. Returns ``self``, as ``nn.Module``'s in-place
        methods (``train``, ``to``) do.

        A head of another task is another model: ``OtherTask.fromModelAndHeadConfig(model.model, head_config)``
        builds it around this model's base model (shared, not copied). ``task`` is refused with that fix.
        """
        if task is not None:
            raise TypeError(
                f"replaceHead resets the head of this {type(self).__name__} in place; it does not build a model of "
                f"another task. Fix: {task.__name__}.fromModelAndHeadConfig(model.model, head_config) builds a "
                f"{task.__name__} around this model's base model (shared, not copied)."
            )
        expected = self.headClass().configClass()
        if not isinstance(head_config, expected):
            raise TypeError(
                f"{type(self).__name__}.replaceHead needs a {expected.__name__}, got a {type(head_config).__name__}. "
                f"Fix: pass a {expected.__name__}; for a head of another task, build a model of that task around "
                f"this base model: OtherTask.fromModelAndHeadConfig(model.model, head_config)."
            )
        head = self.buildHead(self.model.standardiseConfig(self.config.base_model_config), head_config)
        head.apply(self._init_weights)
        self.head = head.train(self.training)
        self.config = self.config.withHeadConfig(head_config)
        tied = self._tiedOutputEmbeddingKeys()
        if tied:
            self._tied_weights_keys = tied
            self.tie_weights()
        self._allocateUntiedProjection(self.device)
        self.head.to(device=self.device, dtype=self.model.dtype)
        return self

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        """transformers' ``generate`` for the tasks that are generation models (``GenerationMixin`` among their
        bases, as ``ForCausalLM``); any other task refuses with the fix (transformers' own classifiers have no
        ``generate`` at all, and calling it is a bare ``AttributeError``)."""
        if isinstance(self, GenerationMixin):
            # A generation task lists GenerationMixin after ModelWithHead among its bases (transformers' convention,
            # `class ForCausalLM(ModelWithHead, GenerationMixin)`), so this method hides GenerationMixin's: hand on.
            return GenerationMixin.generate(self, *args, **kwargs)
        raise TypeError(
            f"{type(self).__name__} (a {self.headClass().__name__} on its base model) computes logits and does not "
            f"generate text: only a causal language model (ForCausalLM over a decoder such as GPT-2 or "
            f"Llama) has generate. Fix: call the model for its predictions, model(input_ids=..., "
            f"attention_mask=...).logits, or give it to the pipeline of its task; to generate, load a decoder "
            f"checkpoint with ForCausalLM.from_pretrained(path, AutoBaseModel, CausalLMHeadConfig(...))."
        )

    def headParametersTiedToBaseModel(self) -> set[str]:
        """Names (in the head) of the head's parameters that are parameters of the base model too, such as a
        language-modelling decoder tied to the input embeddings."""
        base_parameters = {id(parameter) for parameter in self.model.parameters()}
        return {
            name
            for name, parameter in self.head.named_parameters(remove_duplicate=False)
            if id(parameter) in base_parameters
        }
