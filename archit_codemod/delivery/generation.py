"""From a trace and its root models to verified code: generate, then verify as the output's users will import it.

This is the one place outside the declaration half that calls its ``generate_verified`` (or ``generate``, unverified). Nothing is
written here. The stages are logged (``planning``, ``verifying``) on the ``archit_codemod`` logger at level
``INFO``, which the command line shows as status lines; the codemod's warnings are issued as Python warnings.
"""

from __future__ import annotations

import logging
import warnings

from torch import nn

from archit_codemod.declaration.emitting.output import Output
from archit_codemod.declaration.records import Trace
from archit_codemod.delivery.options import WriteOptions

__all__ = ["generate_verified"]

_log = logging.getLogger(__name__)


def generate_verified(trace: Trace, roots: dict[str, nn.Module], options: WriteOptions) -> Output:
    """The code that declares ``roots`` as ``trace`` recorded them, verified unless ``options.verify`` is false.

    Raises:
        DeclarationError: a modification cannot be declared faithfully (the message names the module path and
            the fix).
        NothingModifiedError: nothing changed under ``roots``, or their original classes rebuild every change.
        VerificationError: the generated code does not rebuild the traced model.
        InternalError: a bug of archit_codemod; names the stage.
    """
    # Imported here: the declaration half pulls in LibCST, which `import archit_codemod` does not need.
    from archit_codemod.declaration import api
    from archit_codemod.declaration.provenance import Provenance

    if trace.script_path is not None:
        provenance = Provenance.for_output(trace.script_path, options.output_folder)
    else:
        provenance = Provenance(output_folder=options.output_folder)
    _log.info("planning")
    generate = api.generate_verified if options.verify else api.generate
    output = generate(
        trace, roots, suffix=options.suffix, mode=options.mode, prune=options.prune, provenance=provenance
    )
    for message in output.warnings:
        warnings.warn(message, stacklevel=1)
    return output
