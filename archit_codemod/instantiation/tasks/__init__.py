"""Tasks: a ModelWithHead per head and loss. Other task modules append their re-exports below."""

from archit_codemod.instantiation.tasks.aqa import ForExtractiveAQA
from archit_codemod.instantiation.tasks.autoclasses import registerWithAutoClasses
from archit_codemod.instantiation.tasks.classification import (
    ForMultiLabelSequenceClassification,
    ForSequenceClassification,
    ForSequenceRegression,
    ForSingleLabelSequenceClassification,
    ForSingleLabelTokenClassification,
)
from archit_codemod.instantiation.tasks.lm import ForCausalLM, ForMaskedLM
from archit_codemod.instantiation.tasks.multiple_choice import ForSingleAnswerMultipleChoice
from archit_codemod.instantiation.tasks.multitask import ForMultipleTasks, MultiTaskHeadConfig, TaskSpec
from archit_codemod.instantiation.tasks.parsing import ForDependencyParsing
from archit_codemod.instantiation.tasks.qa import ForExtractiveQA

registerWithAutoClasses()  # AutoConfig, AutoModelFor* and pipeline(task, model=folder) know the saved tasks
