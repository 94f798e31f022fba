"""Tensors written back as source: a small or constant tensor as the factory call that makes it again.

A script that registers a buffer (``register_buffer("temperature", torch.tensor(1.5))``) passes a tensor the
generated class has to make again. Its values are part of the declaration when the buffer is not saved in the
checkpoint, so they are written out, exactly: ``tolist()`` gives Python numbers that convert back to the same
values in the tensor's dtype. A large tensor with varied values has no short source form and is refused by the
caller.
"""

from __future__ import annotations

import math
from typing import Any

import torch

MAX_LISTED_ELEMENTS = 16
"""The most elements a tensor may have to be written out element by element."""


def tensor_source(tensor: torch.Tensor, torch_name: str) -> str | None:
    """``torch.tensor(values, dtype=...)`` for a small tensor, ``torch.full(shape, value, dtype=...)`` for a
    constant one, ``torch.empty(shape, dtype=...)`` for an empty one; ``None`` for any other tensor, a
    parameter, a tensor that requires grad, a quantized, sparse or ``meta`` tensor.

    ``torch_name`` is the name that the generated code binds ``torch`` to.
    """
    if (
        type(tensor) is not torch.Tensor
        or tensor.requires_grad
        or tensor.is_quantized
        or tensor.layout != torch.strided
        or tensor.device.type == "meta"
    ):
        return None
    dtype = f"dtype={torch_name}.{str(tensor.dtype).removeprefix('torch.')}"
    shape = repr(tuple(tensor.shape))
    if tensor.numel() == 0:
        return f"{torch_name}.empty({shape}, {dtype})"
    if tensor.numel() <= MAX_LISTED_ELEMENTS:
        return f"{torch_name}.tensor({_literal(tensor.tolist())}, {dtype})"
    first = tensor.flatten()[0]
    if bool((tensor == first).all()):
        return f"{torch_name}.full({shape}, {_literal(first.item())}, {dtype})"
    return None


def _literal(value: Any) -> str:
    """Python source for nested lists of numbers; non-finite floats as ``float('inf')``."""
    if isinstance(value, list):
        return "[" + ", ".join(_literal(item) for item in value) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    return repr(value)
