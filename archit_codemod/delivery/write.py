"""``archit_codemod.write``: what the command line does, for models traced in this process.

>>> with archit_codemod.trace() as traced:
...     model = RobertaForMaskedLM(config)
...     model.roberta.embeddings.word_embeddings = MyEmbeddings(config)
>>> archit_codemod.write(model, "models/declared.py", trace=traced)            # archit-codemod -o ...
>>> archit_codemod.write(model, "my-model", trace=traced, mode="vendor", save_pretrained=True)
>>> print(archit_codemod.write(model, "models/declared.py", trace=traced, action="diff").patch)

The command line runs its script under the tracer and calls :func:`write_traced` with the options it parsed;
:func:`write` is the same call for a model traced in a session (a notebook, a script of one's own).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from torch import nn

from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.records import Trace
from archit_codemod.delivery.deliver import Generated, deliver
from archit_codemod.delivery.files import OutputError
from archit_codemod.delivery.generation import generate_verified
from archit_codemod.delivery.heap import collections_skip_what_exists
from archit_codemod.delivery.options import Action, Mode, WriteOptions, output_problem, usage_problem

__all__ = ["write", "write_traced"]


def write(
    model: nn.Module | Mapping[str, nn.Module],
    output: str | os.PathLike[str] | None = None,
    *,
    trace: Trace | None = None,
    mode: Mode = "subclass",
    suffix: str = "Modified",
    prune: bool = False,
    save_pretrained: bool = False,
    verify: bool = True,
    force: bool = False,
    action: Action = "write",
) -> Generated:
    """Generate the classes that declare ``model`` as it is now, verify them, and write them to ``output``.

    ``model`` is the modified model (named ``model`` in the generated header), or several by name. ``output`` is
    the module to write (subclass mode) or the folder (vendor mode, with ``save_pretrained`` the traced weights
    too, loadable with ``trust_remote_code=True``); ``None`` writes nothing (read ``.source``). ``trace`` is what
    ``with archit_codemod.trace() as trace:`` recorded while the model was modified; without one, the active trace,
    else the modifications are inferred by comparing ``model`` with its class built again from its config (as
    :func:`archit_codemod.declare` does). ``action`` ``"diff"``, ``"diff-original"`` or ``"check"`` writes nothing
    and returns the patch (and, for ``check``, whether the output is up to date). The other keywords are the
    command line's options of the same names.

    Raises:
        ValueError: options that do not go together (vendor mode without an output, ``save_pretrained`` in
            subclass mode...); the message says which.
        OutputError: the output is of the wrong kind, or someone's own file (without ``force``).
        DeclarationError: a modification cannot be declared faithfully; the message names the module path and the
            fix.
        NothingModifiedError: nothing changed, or the original classes rebuild every change.
        VerificationError: the generated code does not rebuild the traced model.
    """
    roots = {"model": model} if isinstance(model, nn.Module) else dict(model)
    options = WriteOptions(
        output=Path(output) if output is not None else None,
        mode=mode,
        suffix=suffix,
        prune=prune,
        save_pretrained=save_pretrained,
        verify=verify,
        force=force,
        action=action,
    )
    return write_traced(_trace_of(roots, trace), roots, options)


def write_traced(trace: Trace, roots: dict[str, nn.Module], options: WriteOptions) -> Generated:
    """Generate the code that declares ``roots`` as ``trace`` recorded them, verify it, and write it (or compare
    it with the output) as ``options`` say. Raises as :func:`write`."""
    from archit_codemod.declaration.stages import stage

    problem = usage_problem(options)
    if problem is not None:
        raise ValueError(problem)
    problem = output_problem(options)
    if problem is not None:
        raise OutputError(problem)
    with collections_skip_what_exists():
        output = generate_verified(trace, roots, options)
        with stage("writing", expected=(OutputError, DeclarationError, OSError)):
            return deliver(output, roots, options)


def _trace_of(roots: Mapping[str, nn.Module], trace: Trace | None) -> Trace:
    """``trace``, else the active trace, when it recorded changes to the models; else the changes inferred by
    comparing the (single) model with its class."""
    from archit_codemod.declaration.api import infer_trace, reaches
    from archit_codemod.declaration.tracing.tracer import current_trace

    trace = trace if trace is not None else current_trace()
    if trace is not None and any(reaches(trace, root) for root in roots.values()):
        return trace
    if len(roots) != 1:
        raise DeclarationError(
            f"no trace recorded how {', '.join(roots)} were modified, and several models cannot be compared with "
            "their classes at once. Fix: modify them inside `with archit_codemod.trace() as traced:` and pass "
            "trace=traced."
        )
    [root] = roots.values()
    return infer_trace(root)
