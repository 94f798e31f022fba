"""The three abstractions of instantiation, one module each, re-exported here:

- :class:`BaseModel` (``base_model.py``) wraps a transformers model (its *core*) behind one interface:
  ``forward(input_ids, attention_mask) -> last_hidden_state, hidden_states, pooler_output``.
- :class:`Head` (``head.py``) turns that output into logits, and declares how it takes over the head of a
  transformers checkpoint (``Head.transformers_head_mapping``).
- :class:`ModelWithHead` (``model_with_head.py``, a ``PreTrainedModel`` with a :class:`~.configs.CombinedConfig`)
  runs both and computes the task's loss. Task classes (``ForMaskedLM``, ...) pick the head class and the loss.

Beside them: ``core_support.py`` (the attention support flags a wrapper answers from its core) and
``initialisation.py`` (how heads are initialised). Modules of this package import from those modules directly; this
file only keeps the public names importable from ``archit_codemod.instantiation.abstracts``.
"""

from archit_codemod.instantiation.abstracts.base_model import PC, BaseModel
from archit_codemod.instantiation.abstracts.head import HC, Head, HeadWeightMapping, StateDict
from archit_codemod.instantiation.abstracts.initialisation import HEAD_INITIALISER_STD, initialiseModule
from archit_codemod.instantiation.abstracts.model_with_head import ModelWithHead
from archit_codemod.instantiation.outputs import ModelWithHeadOutput

__all__ = [
    "HC",
    "HEAD_INITIALISER_STD",
    "PC",
    "BaseModel",
    "Head",
    "HeadWeightMapping",
    "ModelWithHead",
    "ModelWithHeadOutput",
    "StateDict",
    "initialiseModule",
]
