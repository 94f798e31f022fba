"""archit_codemod: base-and-head language models, and a codemod that declares in-place model changes.

Two halves:

- :mod:`archit_codemod.instantiation` puts any head on any transformers base model.
- :mod:`archit_codemod.declaration` traces a script that modifies a model in place and rewrites the
  original class definitions (with LibCST) into classes that build the modified model.

The declaration half from Python (what ``archit-codemod SCRIPT`` does, for a model modified in this process)::

    with archit_codemod.trace() as traced:
        model.encoder.layer[0] = MyLayer(config)
    print(archit_codemod.declare(model, trace=traced))                   # the code, as text
    archit_codemod.write(model, "models/declared.py", trace=traced)       # written, as with -o

In a notebook, ``%load_ext archit_codemod`` adds the ``%%declare [OPTIONS]`` cell magic, which traces its cell and
declares what it changed (:mod:`archit_codemod.notebook`).
"""

import importlib
from typing import Any

from archit_codemod._version_check import check_transformers_version

__version__ = "0.1.0"

check_transformers_version()

# Public names imported on first use, so that `import archit_codemod` (and `--help`) stays light.
_LAZY_EXPORTS = {
    "trace": "archit_codemod.declaration.tracing.tracer",
    "declare": "archit_codemod.declaration.api",
    "write": "archit_codemod.delivery.write",
    "Generated": "archit_codemod.delivery.deliver",
    "DeclarationError": "archit_codemod.declaration.errors",
    "NothingModifiedError": "archit_codemod.declaration.errors",
    "VerificationError": "archit_codemod.declaration.errors",
    "OutputError": "archit_codemod.delivery.files",
}
__all__ = ["__version__", *_LAZY_EXPORTS]

# IPython's hook for `%load_ext archit_codemod` (the %%declare cell magic): imported only when IPython asks, since
# the package does not depend on IPython; not in __all__, which a star import imports.
_LAZY_EXPORTS["load_ipython_extension"] = "archit_codemod.notebook"


def __getattr__(name: str) -> Any:
    module = _LAZY_EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY_EXPORTS})
