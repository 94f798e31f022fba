"""The task classes registered with transformers' auto classes, through their public ``register`` methods.

With these registrations, ``AutoConfig.from_pretrained`` reads a ``config.json`` saved by this package,
``AutoModelForTokenClassification.from_pretrained(folder)`` (and the other auto classes below) rebuild the task
that saved it, and so ``pipeline("token-classification", model=folder)`` works on such a folder.

Several tasks share an auto class (single-label and multi-label classification and regression all are
``AutoModelForSequenceClassification``): their common base class, ``ForSequenceClassification``, is registered, and
its ``from_pretrained`` returns the task that saved the checkpoint. ``AutoModel`` (registered with ``ModelWithHead``)
rebuilds any task.
"""

from __future__ import annotations

import transformers
from transformers import AutoConfig

from archit_codemod.instantiation.abstracts.model_with_head import ModelWithHead
from archit_codemod.instantiation.configs import CombinedConfig
from archit_codemod.instantiation.tasks.aqa import ForExtractiveAQA
from archit_codemod.instantiation.tasks.classification import (
    ForMultiLabelSequenceClassification,
    ForSequenceClassification,
    ForSequenceRegression,
    ForSingleLabelSequenceClassification,
    ForSingleLabelTokenClassification,
)
from archit_codemod.instantiation.tasks.lm import ForCausalLM, ForMaskedLM
from archit_codemod.instantiation.tasks.multiple_choice import ForSingleAnswerMultipleChoice
from archit_codemod.instantiation.tasks.multitask import ForMultipleTasks
from archit_codemod.instantiation.tasks.parsing import ForDependencyParsing
from archit_codemod.instantiation.tasks.qa import ForExtractiveQA

__all__ = ["TASKS", "registeredClasses", "registerWithAutoClasses"]

# The task classes of this package (and the family of the sequence classification tasks).
TASKS: tuple[type[ModelWithHead], ...] = (
    ForSingleLabelTokenClassification,
    ForSequenceClassification,
    ForSingleLabelSequenceClassification,
    ForMultiLabelSequenceClassification,
    ForSequenceRegression,
    ForMaskedLM,
    ForCausalLM,
    ForExtractiveQA,
    ForSingleAnswerMultipleChoice,
    ForExtractiveAQA,
    ForDependencyParsing,
    ForMultipleTasks,
)


def registeredClasses() -> dict[str, type[ModelWithHead]]:
    """transformers auto class name -> the class registered with it: the task (or family of tasks) that declares
    it in its ``auto_classes``, and ``ModelWithHead`` for ``AutoModel``. A class's ``from_pretrained`` returns the
    subclass that saved the checkpoint, so the family and ``ModelWithHead`` rebuild any of their tasks."""
    registered: dict[str, type[ModelWithHead]] = {"AutoModel": ModelWithHead}
    for task in TASKS:
        for name in vars(task).get("auto_classes", ()):
            registered[name] = task
    return registered


def registerWithAutoClasses() -> None:
    """Register :class:`CombinedConfig` with ``AutoConfig`` and the tasks with their auto classes. Idempotent."""
    AutoConfig.register(CombinedConfig.model_type, CombinedConfig, exist_ok=True)
    for auto_class_name, task in registeredClasses().items():
        getattr(transformers, auto_class_name).register(CombinedConfig, task, exist_ok=True)
