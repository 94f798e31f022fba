"""The task classes registered with transformers' auto classes, through their public ``register`` methods.

With these registrations, ``AutoConfig.from_pretrained`` reads a ``config.json`` saved by this package,
``AutoModelForTokenClassification.from_pretrained(folder)`` (and the other auto classes below) rebuild the task
that saved it, and so ``pipeline("token-classification", model=folder)`` works on such a folder.

Several tasks share an auto class (single-label and multi-label classification and regression all are
``AutoModelForSequenceClassification``): they are registered together, as a tuple, and transformers picks the one
the checkpoint's ``architectures`` names (what ``save_pretrained`` writes), as it does for its own configurations
that map to several classes. ``AutoModel`` rebuilds any task.
"""

from __future__ import annotations

import transformers
from transformers import AutoConfig

from archit_codemod.instantiation.abstracts import ModelWithHead
from archit_codemod.instantiation.configs import CombinedConfig
from archit_codemod.instantiation.tasks.aqa import ForExtractiveAQA
from archit_codemod.instantiation.tasks.classification import (
    ForMultiLabelSequenceClassification,
    ForSequenceRegression,
    ForSingleLabelSequenceClassification,
    ForSingleLabelTokenClassification,
)
from archit_codemod.instantiation.tasks.lm import ForCausalLM, ForMaskedLM
from archit_codemod.instantiation.tasks.multiple_choice import ForSingleAnswerMultipleChoice
from archit_codemod.instantiation.tasks.multitask import ForMultipleTasks
from archit_codemod.instantiation.tasks.parsing import ForDependencyParsing
from archit_codemod.instantiation.tasks.qa import ForExtractiveQA

__all__ = ["TASKS_OF_AUTO_CLASSES", "autoClassesOf", "registerWithAutoClasses"]

# transformers auto class name -> the tasks it rebuilds (the first is its choice when `architectures` names none).
TASKS_OF_AUTO_CLASSES: dict[str, tuple[type[ModelWithHead], ...]] = {
    "AutoModelForTokenClassification": (ForSingleLabelTokenClassification,),
    "AutoModelForSequenceClassification": (
        ForSingleLabelSequenceClassification,
        ForMultiLabelSequenceClassification,
        ForSequenceRegression,
    ),
    "AutoModelForMaskedLM": (ForMaskedLM,),
    "AutoModelForCausalLM": (ForCausalLM,),
    "AutoModelForQuestionAnswering": (ForExtractiveQA,),
    "AutoModelForMultipleChoice": (ForSingleAnswerMultipleChoice,),
}
TASKS_OF_AUTO_CLASSES["AutoModel"] = (
    *(task for tasks in TASKS_OF_AUTO_CLASSES.values() for task in tasks),
    ForExtractiveAQA,
    ForDependencyParsing,
    ForMultipleTasks,
)


def registerWithAutoClasses() -> None:
    """Register :class:`CombinedConfig` with ``AutoConfig`` and the tasks with their auto classes. Idempotent."""
    AutoConfig.register(CombinedConfig.model_type, CombinedConfig, exist_ok=True)
    for auto_class_name, tasks in TASKS_OF_AUTO_CLASSES.items():
        auto_class = getattr(transformers, auto_class_name)
        auto_class.register(CombinedConfig, tasks[0] if len(tasks) == 1 else tasks, exist_ok=True)


def autoClassesOf(task_class: type[ModelWithHead]) -> list[str]:
    """The auto classes that rebuild ``task_class`` or the nearest registered task it derives from, most specific
    first (``AutoModel`` last); ``["AutoModel"]`` for a task class that derives from none of them."""
    for ancestor in task_class.__mro__:
        names = [name for name, tasks in TASKS_OF_AUTO_CLASSES.items() if ancestor in tasks]
        if names:
            return sorted(names, key=lambda name: name == "AutoModel")
    return ["AutoModel"]
