"""Base-model wrappers: one generic wrapper, and the architectures that need their own settings."""

from archit_codemod.instantiation.basemodels.architectures import (
    BertBaseModel,
    CanineBaseModel,
    DebertaBaseModel,
    DebertaV2BaseModel,
    GPT2BaseModel,
    ModernBertBaseModel,
    RobertaBaseModel,
)
from archit_codemod.instantiation.basemodels.auto import AutoBaseModel
from archit_codemod.instantiation.basemodels.generic import STANDARD_ATTRIBUTE_NAMES, TransformersBaseModel
