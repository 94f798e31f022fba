"""Heads and their configs. Other head modules append their re-exports below."""

from archit_codemod.instantiation.extensions import PoolingAndStridingConfig, SubwordPooling
from archit_codemod.instantiation.heads.aqa import ExtractiveAQAHead, ExtractiveAQAHeadConfig
from archit_codemod.instantiation.heads.classification import (
    HeadConfigWithLabels,
    SequenceClassificationHead,
    SequenceClassificationHeadConfig,
    TokenClassificationHead,
    TokenClassificationHeadConfig,
)
from archit_codemod.instantiation.heads.lm import (
    CausalLMHead,
    CausalLMHeadConfig,
    MaskedLMHead,
    MaskedLMHeadConfig,
)
from archit_codemod.instantiation.heads.nested import SequenceClassificationHeadForNestedBatches
from archit_codemod.instantiation.heads.parsing import DependencyParsingHead, DependencyParsingHeadConfig
from archit_codemod.instantiation.heads.qa import ExtractiveQAHead, ExtractiveQAHeadConfig
from archit_codemod.instantiation.heads.reuse import installHeadReuse

installHeadReuse()  # checkpoints of transformers models with a matching head keep that head's weights
