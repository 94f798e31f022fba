"""Let modules deep inside a base model contribute loss terms and diagnostics to the model with head.

A module that mixes in :class:`StatefulLossMixin` calls ``self.addToLoss("name", tensor, coefficient)`` in its
forward; the ``BaseModel`` it lives in registers one shared :class:`LossState` with every such module, resets it
before each forward, and ``BaseModel.computeLoss()`` returns the accumulated sum, which ``ModelWithHead`` adds
to the task loss. :class:`ReportDiagnosticsMixin` does the same for values to log (``self.report({...})``).
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["LoggingState", "LossState", "ReportDiagnosticsMixin", "StatefulLossMixin"]


class LossState:
    """Loss terms accumulated during one forward pass, by name, already multiplied by their coefficients."""

    def __init__(self) -> None:
        self.terms: dict[str, torch.Tensor] = {}

    def add(self, report_as: str, tensor: torch.Tensor, coefficient: float = 1.0) -> None:
        term = coefficient * tensor
        self.terms[report_as] = self.terms[report_as] + term if report_as in self.terms else term

    def total(self) -> torch.Tensor | None:
        """Sum of all terms, or ``None`` when nothing was added (so the caller adds nothing)."""
        if not self.terms:
            return None
        return torch.stack([term.reshape(()) for term in self.terms.values()]).sum()

    def reset(self) -> None:
        self.terms = {}


class StatefulLossMixin:
    """Mix into an ``nn.Module`` that wants to add loss terms. Unregistered modules add nothing (no error), so
    the module also works outside a ``BaseModel``."""

    _loss_state: LossState | None = None

    def registerLoss(self, state: LossState) -> None:
        self._loss_state = state

    def addToLoss(self, report_as: str, tensor: torch.Tensor, coefficient: float = 1.0) -> None:
        if self._loss_state is not None:
            self._loss_state.add(report_as, tensor, coefficient)


class LoggingState:
    """Diagnostics reported during the last forward pass, by name."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def update(self, values: dict[str, Any]) -> None:
        self.values.update(values)

    def reset(self) -> None:
        self.values = {}


class ReportDiagnosticsMixin:
    """Mix into an ``nn.Module`` that wants to report values (norms, rates, ...) for logging."""

    _logging_state: LoggingState | None = None

    def registerLog(self, state: LoggingState) -> None:
        self._logging_state = state

    def report(self, values: dict[str, Any]) -> None:
        if self._logging_state is not None:
            self._logging_state.update(values)
