"""Plain-torch building blocks of the biaffine dependency parser (Dozat & Manning, 2017).

The original ArchIt imported these from supar, which pulls stanza, nltk and more in at import time. They are a
few lines of torch each; the math follows ``supar.modules`` (``MLP``, ``SharedDropout``, ``Biaffine``,
``ScalarMix``) so that checkpoints trained with either compute the same function.
"""

from collections.abc import Sequence

import torch
from torch import Tensor, nn

__all__ = ["MLP", "Biaffine", "ScalarMix", "SharedDropout"]


class SharedDropout(nn.Module):
    """Dropout whose mask is shared across the sequence dimension (dimension 1 of a ``B x L x H`` input).

    Every position of one example loses the same features, as in Dozat & Manning's parser: independent
    masks per position would let the biaffine scorer compare differently-dropped vectors.
    """

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"SharedDropout needs 0 <= p < 1, got p={p}.")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        # One mask per example and feature (B x 1 x H), broadcast over positions.
        keep = x.new_empty(x.shape[0], 1, *x.shape[2:]).bernoulli_(1 - self.p) / (1 - self.p)
        return x * keep

    def extra_repr(self) -> str:
        return f"p={self.p}"


class MLP(nn.Module):
    """Linear layer, LeakyReLU(0.1) and shared dropout: the projection before each biaffine scorer."""

    def __init__(self, n_in: int, n_out: int, dropout: float = 0.0, activation: bool = True):
        super().__init__()
        self.n_in = n_in
        self.n_out = n_out
        self.linear = nn.Linear(n_in, n_out)
        self.activation = nn.LeakyReLU(negative_slope=0.1) if activation else nn.Identity()
        self.dropout = SharedDropout(p=dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.activation(self.linear(x)))


class Biaffine(nn.Module):
    """Biaffine scorer ``s[b, o, i, j] = [x_bi; 1]^T W_o [y_bj; 1] / n_in**scale``.

    The ``1`` appended to ``x`` (``bias_x``) and to ``y`` (``bias_y``) gives the bilinear form its linear and
    constant terms. With ``n_out == 1`` the output is ``B x Lx x Ly``, otherwise ``B x n_out x Lx x Ly``.
    The weight starts at zero, as in supar: the scorer learns from a uniform starting point.
    """

    def __init__(self, n_in: int, n_out: int = 1, scale: float = 0, bias_x: bool = True, bias_y: bool = True):
        super().__init__()
        self.n_in = n_in
        self.n_out = n_out
        self.scale = scale
        self.bias_x = bias_x
        self.bias_y = bias_y
        self.weight = nn.Parameter(torch.zeros(n_out, n_in + bias_x, n_in + bias_y))

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """``x``: ``B x Lx x n_in``, ``y``: ``B x Ly x n_in``."""
        if self.bias_x:
            x = torch.cat((x, torch.ones_like(x[..., :1])), dim=-1)
        if self.bias_y:
            y = torch.cat((y, torch.ones_like(y[..., :1])), dim=-1)
        scores = torch.einsum("bxi,oij,byj->boxy", x, self.weight, y) / self.n_in**self.scale
        return scores.squeeze(1) if self.n_out == 1 else scores

    def extra_repr(self) -> str:
        return f"n_in={self.n_in}, n_out={self.n_out}, scale={self.scale}, bias_x={self.bias_x}, bias_y={self.bias_y}"


class ScalarMix(nn.Module):
    """Learnt mix ``gamma * sum_k softmax(w)_k * h_k`` of ``n_layers`` equally shaped tensors (Peters et al., 2018).

    The weights start equal (zero before the softmax) and ``gamma`` at one, so an untrained mix is the mean.
    """

    def __init__(self, n_layers: int, dropout: float = 0.0):
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"ScalarMix needs at least one layer, got n_layers={n_layers}.")
        self.n_layers = n_layers
        self.weights = nn.Parameter(torch.zeros(n_layers))
        self.gamma = nn.Parameter(torch.tensor([1.0]))
        self.dropout = nn.Dropout(dropout)

    def forward(self, tensors: Sequence[Tensor]) -> Tensor:
        if len(tensors) != self.n_layers:
            raise ValueError(f"ScalarMix was built for {self.n_layers} tensors but received {len(tensors)}.")
        normalised = self.dropout(self.weights.softmax(dim=-1))
        return self.gamma * sum(w * h for w, h in zip(normalised, tensors, strict=True))

    def extra_repr(self) -> str:
        return f"n_layers={self.n_layers}"
