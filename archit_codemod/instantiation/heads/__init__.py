"""Heads and their configs. Other head modules append their re-exports below.

How a head takes over the head of a transformers checkpoint is declared on its class
(``transformers_head_mapping``, the mappings are in ``reuse.py``); importing this package registers nothing."""

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
