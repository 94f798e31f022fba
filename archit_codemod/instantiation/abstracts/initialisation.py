"""How the modules a wrapper adds (heads, and layers a base-model wrapper adds around its core) are initialised."""

from __future__ import annotations

import torch
from torch import nn

try:  # transformers 5: init functions that skip parameters already loaded from a checkpoint
    from transformers import initialization as _init
except ImportError:  # transformers 4.57: plain torch (loaded modules are skipped per module there)
    _init = torch.nn.init

__all__ = ["HEAD_INITIALISER_STD", "initialiseModule"]

HEAD_INITIALISER_STD = 0.02


def initialiseModule(module: nn.Module, std: float = HEAD_INITIALISER_STD) -> None:
    """Initialise one module the way heads are: linear/embedding weights normal(0, std), biases 0, norms 1/0.

    Modules of other types are left alone (their children are visited separately by transformers).
    """
    if isinstance(module, nn.Linear):
        _init.normal_(module.weight, mean=0.0, std=std)
        if module.bias is not None:
            _init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        _init.normal_(module.weight, mean=0.0, std=std)
    elif (
        isinstance(module, nn.LayerNorm)
        or "LayerNorm" in type(module).__name__
        or "RMSNorm" in type(module).__name__
    ):
        if getattr(module, "weight", None) is not None:
            _init.ones_(module.weight)
        if getattr(module, "bias", None) is not None:
            _init.zeros_(module.bias)
