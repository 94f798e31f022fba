"""Tensors written back as source: a small or constant tensor as the factory call that makes it again.

A script that registers a buffer (``register_buffer("temperature", torch.tensor(1.5))``) passes a tensor the
generated class has to make again. Its values are part of the declaration when the buffer is not saved in the
checkpoint, so they are written out, exactly: ``tolist()`` gives Python numbers that convert back to the same
values in the tensor's dtype. A large tensor with varied values has no short source form and is refused by the
caller.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

MAX_LISTED_ELEMENTS = 16
"""The most elements a tensor may have to be written out element by element."""


def tensor_source(tensor: torch.Tensor) -> Callable[[str], str] | None:
    """The source of a tensor that generated code can write out, as a function of the name ``torch`` is bound to:
    ``torch.tensor(values, dtype=...)`` for a small tensor, ``torch.full(shape, value, dtype=...)`` for a constant
    one, ``torch.empty(shape, dtype=...)`` for an empty one. ``None`` for any other tensor, a parameter, a tensor
    that requires grad, a quantized, sparse or ``meta`` tensor (the caller then binds no ``torch`` name).
    """
    if (
        type(tensor) is not torch.Tensor
        or tensor.requires_grad
        or tensor.is_quantized
        or tensor.layout != torch.strided
        or tensor.device.type == "meta"
    ):
        return None
    dtype = str(tensor.dtype).removeprefix("torch.")
    shape = repr(tuple(tensor.shape))
    if tensor.numel() == 0:
        return lambda torch_name: f"{torch_name}.empty({shape}, dtype={torch_name}.{dtype})"
    if tensor.numel() <= MAX_LISTED_ELEMENTS:
        values = _literal(tensor.tolist())
        return lambda torch_name: f"{torch_name}.tensor({values}, dtype={torch_name}.{dtype})"
    first = tensor.flatten()[0]
    if bool((tensor == first).all()):
        value = _literal(first.item())
        return lambda torch_name: f"{torch_name}.full({shape}, {value}, dtype={torch_name}.{dtype})"
    return None


def _literal(value: Any) -> str:
    """Python source for nested lists of numbers; non-finite floats as ``float('inf')``."""
    if isinstance(value, list):
        return "[" + ", ".join(_literal(item) for item in value) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    return repr(value)
