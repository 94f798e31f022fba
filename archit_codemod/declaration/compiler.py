"""The seed's entry point, kept by name: ``printDifference(instance, klass)``.

ArchIt's version built a second full model to compare with and printed placeholder code. This one prints
the output of :func:`archit_codemod.declaration.api.declare`: runnable, verified classes. The reference
it compares with (when no trace is active) is built from the config on the ``meta`` device.
"""

from __future__ import annotations

from torch import nn

from archit_codemod.declaration.api import declare, infer_trace, reaches

__all__ = ["printDifference"]


def printDifference(instance: nn.Module, klass: type[nn.Module], *, suffix: str = "Modified") -> None:
    """Print the classes that declare ``instance``, an in-place modified ``klass``.

    Inside ``with archit_codemod.declaration.tracing.tracer.trace():`` (or under ``python -m archit_codemod``)
    the recorded modifications and constructor calls are used; otherwise ``instance`` is compared with
    ``klass(instance.config)`` built on ``meta``, which can declare torch built-in replacements only.
    """
    from archit_codemod.declaration.tracing.tracer import current_trace

    trace = current_trace()
    if trace is None or not reaches(trace, instance):
        trace = infer_trace(instance, reference_class=klass)
    print(declare(instance, trace=trace, suffix=suffix))
