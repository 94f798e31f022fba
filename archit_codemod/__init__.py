"""archit_codemod: base-and-head language models, and a codemod that declares in-place model changes.

Two halves:

- :mod:`archit_codemod.instantiation` puts any head on any transformers base model.
- :mod:`archit_codemod.declaration` traces a script that modifies a model in place and rewrites the
  original class definitions (with LibCST) into classes that build the modified model.
"""

from archit_codemod._version_check import check_transformers_version

__version__ = "0.1.0"

check_transformers_version()
