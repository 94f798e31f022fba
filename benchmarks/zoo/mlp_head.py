"""Replace the task head's output projection with a two-layer MLP."""

import sys

import torch
from torch import nn
from zoo_build import NotApplicableError, build, owner_and_name, path_of

HEAD_NAMES = ("classifier", "score", "qa_outputs")


class MLPHead(nn.Module):
    """Linear, GELU, linear: a head with one hidden layer in place of a single projection."""

    def __init__(self, in_features: int, out_features: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.up = nn.Linear(in_features, hidden_size, bias=bias)
        self.activation = nn.GELU()
        self.down = nn.Linear(hidden_size, out_features, bias=bias)

    def forward(self, hidden_states):
        return self.down(self.activation(self.up(hidden_states)))


def output_projection(model: nn.Module) -> str | None:
    """The path of the linear layer that gives the task's logits, or ``None`` (a base model has none)."""
    try:
        output = model.get_output_embeddings()
    except (AttributeError, NotImplementedError):
        output = None
    if isinstance(output, nn.Linear):
        return path_of(model, output)
    for name in HEAD_NAMES:
        head = getattr(model, name, None)
        linears = (
            [path for path, module in head.named_modules() if isinstance(module, nn.Linear)] if head else []
        )
        if linears:
            return f"{name}.{linears[-1]}".rstrip(".")
    return None


def modify(model: nn.Module) -> str:
    path = output_projection(model)
    if path is None:
        raise NotApplicableError("no task head (no output embedding, no classifier or score linear)")
    owner, name = owner_and_name(model, path)
    head = getattr(owner, name)
    setattr(
        owner,
        name,
        MLPHead(
            head.in_features, head.out_features, hidden_size=head.in_features, bias=head.bias is not None
        ),
    )
    return f"{path} replaced"


if __name__ == "__main__":
    model = build(*sys.argv[1:])
    with torch.device("meta"):
        modify(model)
