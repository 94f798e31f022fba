"""Several tasks on one base model: one base forward per batch, one head and one weighted loss per task."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import torch
from torch import nn
from transformers.modeling_outputs import BaseModelOutputWithPoolingAndNoAttention

from archit_codemod.instantiation.abstracts.head import Head
from archit_codemod.instantiation.abstracts.model_with_head import ModelWithHead
from archit_codemod.instantiation.configs import BaseModelConfig, HeadConfig
from archit_codemod.util import import_from_path, import_path

__all__ = ["ForMultipleTasks", "MultiTaskHead", "MultiTaskHeadConfig", "TaskSpec"]


@dataclass
class TaskSpec:
    """One task of a :class:`ForMultipleTasks`: its task class, its head config and the weight of its loss.

    ``task`` and ``head_config`` may be given as a class and a :class:`HeadConfig`; they are stored as the import
    path and the dict that ``config.json`` holds, so the spec saves and loads as plain JSON.
    """

    task: str | type[ModelWithHead]
    head_config: dict[str, Any] | HeadConfig
    weight: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.task, type):
            self.task = import_path(self.task)
        if isinstance(self.head_config, HeadConfig):
            self.head_config = self.head_config.to_dict()

    def taskClass(self) -> type[ModelWithHead]:
        return import_from_path(self.task)

    def headConfig(self) -> HeadConfig:
        return self.taskClass().headClass().configClass().from_dict(self.head_config)


@dataclass
class MultiTaskHeadConfig(HeadConfig):
    """``tasks``: task name -> :class:`TaskSpec` (or the dict of one)."""

    tasks: dict[str, TaskSpec] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.tasks = {
            name: spec if isinstance(spec, TaskSpec) else TaskSpec(**spec)
            for name, spec in self.tasks.items()
        }


class MultiTaskHead(Head[MultiTaskHeadConfig]):
    """One head per task (``heads[name]``), each built by its task class; ``forward`` returns name -> logits."""

    def __init__(self, base_config: BaseModelConfig, head_config: MultiTaskHeadConfig):
        super().__init__(base_config, head_config)
        self.heads = nn.ModuleDict(
            {
                name: spec.taskClass().buildHead(base_config, spec.headConfig())
                for name, spec in head_config.tasks.items()
            }
        )

    def forward(
        self,
        encoder_output: BaseModelOutputWithPoolingAndNoAttention,
        attention_mask: torch.Tensor,
        **kwargs: Any,
    ) -> dict[str, Any]:
        return {name: head(encoder_output, attention_mask, **kwargs) for name, head in self.heads.items()}

    @classmethod
    def configClass(cls) -> type[MultiTaskHeadConfig]:
        return MultiTaskHeadConfig

    @classmethod
    def hfEquivalentSuffix(cls) -> str:
        return "ForMultipleTasks"  # transformers has no such class; the name marks the task

    @classmethod
    def assertConfigConstraints(cls, base_config: BaseModelConfig, head_config: MultiTaskHeadConfig) -> None:
        super().assertConfigConstraints(base_config, head_config)
        if not head_config.tasks:
            raise ValueError(
                "MultiTaskHeadConfig needs at least one task: MultiTaskHeadConfig(tasks={name: TaskSpec(...)})."
            )
        for name, spec in head_config.tasks.items():
            task_class = spec.taskClass()
            if not (isinstance(task_class, type) and issubclass(task_class, ModelWithHead)):
                raise ValueError(f"Task {name!r}: {spec.task} is not a ModelWithHead task class.")
            if task_class.callBaseModel is not ModelWithHead.callBaseModel:
                raise ValueError(
                    f"Task {name!r}: {task_class.__name__} feeds the base model its own way (nested batches, words), so "
                    f"it cannot share one base forward with other tasks. Train it as its own model."
                )
            if getattr(spec.headConfig(), "tie_weights", False):
                raise ValueError(
                    f"Task {name!r}: heads of ForMultipleTasks are not tied to the input embeddings. Set "
                    f"tie_weights=False in its head config."
                )
            if spec.weight < 0:
                raise ValueError(f"Task {name!r}: the loss weight must be >= 0, got {spec.weight}.")


class ForMultipleTasks(ModelWithHead):
    """One base model, several named task heads. Inputs go through the base model once per batch.

    ``logits`` is a dict task name -> that task's logits. ``labels`` is a dict task name -> that task's labels
    (in the form its task class takes); tasks without labels in a batch add nothing. The loss is
    ``sum(weight[task] * loss[task])`` over the tasks with labels, each loss computed by the task class's own
    ``computeLoss``, plus the base model's loss terms. Saved and loaded like any :class:`ModelWithHead`.

    Tasks whose class feeds the base model its own way (:class:`~.extensions.ForNestedBatches`,
    :class:`~.extensions.ForTokensGroupedByWord`) cannot share a base forward and are refused.
    """

    def __init__(self, config, base_model=None):
        super().__init__(config, base_model=base_model)
        # Each task's own loss module; the task's computeLoss reads it (and the head config) from a view below.
        self.task_losses = {
            name: spec.taskClass().buildLoss() for name, spec in config.head_config.tasks.items()
        }

    @classmethod
    def headClass(cls) -> type[MultiTaskHead]:
        return MultiTaskHead

    def classesToShare(self) -> list[type]:
        """Also each task's class and head config class, which the task specs name by import path."""
        specs = self.config.head_config.tasks.values()
        return [
            *super().classesToShare(),
            *(spec.taskClass() for spec in specs),
            *(type(spec.headConfig()) for spec in specs),
        ]

    @classmethod
    def buildLoss(cls) -> nn.Module:
        return nn.Identity()  # no loss of its own: computeLoss combines the tasks' losses

    def computeLoss(self, logits: dict[str, Any], labels: Mapping[str, Any]) -> torch.Tensor:
        if not isinstance(labels, Mapping) or not labels:
            raise ValueError(
                f"ForMultipleTasks needs labels as a dict task name -> labels, with at least one of the tasks "
                f"{sorted(self.config.head_config.tasks)}; got {type(labels).__name__}."
            )
        unknown = sorted(set(labels) - set(self.config.head_config.tasks))
        if unknown:
            raise ValueError(
                f"Labels for unknown task(s) {unknown}; the tasks are {sorted(self.config.head_config.tasks)}."
            )
        total = None
        for name, task_labels in labels.items():
            if task_labels is None:
                continue
            spec = self.config.head_config.tasks[name]
            # The task class's computeLoss only reads `loss` and `config.head_config`/`base_model_config`.
            view = SimpleNamespace(
                loss=self.task_losses[name],
                config=SimpleNamespace(
                    head_config=spec.headConfig(), base_model_config=self.config.base_model_config
                ),
            )
            term = spec.weight * spec.taskClass().computeLoss(view, logits[name], task_labels)
            total = term if total is None else total + term
        if total is None:
            raise ValueError("Every task's labels are None; give labels for at least one task.")
        return total
