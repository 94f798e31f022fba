"""Replace every normalisation module with another class: LayerNorm by an RMS norm, RMS norms by a LayerNorm."""

import sys

import torch
from torch import nn
from zoo_build import NotApplicableError, build, owner_and_name


class SimpleRMSNorm(nn.Module):
    """Root-mean-square normalisation with a learned scale (no centring, no bias)."""

    def __init__(self, hidden_size: int, eps: float = 1e-6, elementwise_affine: bool = True):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(hidden_size)) if elementwise_affine else None

    def forward(self, hidden_states):
        variance = hidden_states.pow(2).mean(-1, keepdim=True)
        normalised = hidden_states * torch.rsqrt(variance + self.eps)
        return normalised if self.weight is None else normalised * self.weight


class SimpleLayerNorm(nn.Module):
    """Layer normalisation written out: centre, scale to unit variance, then a learned scale and shift."""

    def __init__(self, hidden_size: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.bias = nn.Parameter(torch.zeros(hidden_size))

    def forward(self, hidden_states):
        centred = hidden_states - hidden_states.mean(-1, keepdim=True)
        variance = centred.pow(2).mean(-1, keepdim=True)
        return centred * torch.rsqrt(variance + self.eps) * self.weight + self.bias


def is_rms_norm(module: nn.Module) -> bool:
    """An RMS norm of the model (``LlamaRMSNorm``, ``T5LayerNorm``, ``nn.RMSNorm``): one 1-D scale, no bias."""
    if isinstance(module, nn.RMSNorm):
        return module.weight is not None
    parameters = dict(module.named_parameters(recurse=False))
    return (
        "Norm" in type(module).__name__
        and not list(module.children())
        and set(parameters) == {"weight"}
        and parameters["weight"].dim() == 1
        and any(hasattr(module, name) for name in ("variance_epsilon", "eps", "epsilon"))
    )


def replacement(module: nn.Module) -> nn.Module | None:
    if isinstance(module, nn.LayerNorm) and len(module.normalized_shape) == 1:
        return SimpleRMSNorm(
            module.normalized_shape[0], eps=module.eps, elementwise_affine=module.weight is not None
        )
    if is_rms_norm(module):
        eps = next(
            (getattr(module, n) for n in ("variance_epsilon", "eps", "epsilon") if getattr(module, n, None)),
            1e-6,
        )
        return SimpleLayerNorm(module.weight.shape[0], eps=float(eps))
    return None


def modify(model: nn.Module) -> str:
    replaced = 0
    for path, module in list(model.named_modules()):
        new = replacement(module) if path else None
        if new is not None:
            owner, name = owner_and_name(model, path)
            setattr(owner, name, new)
            replaced += 1
    if not replaced:
        raise NotApplicableError("no LayerNorm and no RMS norm")
    return f"{replaced} norms replaced"


if __name__ == "__main__":
    model = build(*sys.argv[1:])
    with torch.device("meta"):
        modify(model)
