"""Replace the input embedding with a factorised one: a narrow lookup table, then a linear up-projection."""

import sys

import torch
from torch import nn
from zoo_build import NotApplicableError, build


class FactorisedEmbedding(nn.Module):
    """A factorised word embedding (as in ALBERT)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, bottleneck_size: int = 64, padding_idx=None):
        super().__init__()
        # What models read from their input embedding (FSMT sizes its positions by embedding_dim).
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, padding_idx
        self.lookup = nn.Embedding(num_embeddings, bottleneck_size, padding_idx=padding_idx)
        self.up_projection = nn.Linear(bottleneck_size, embedding_dim, bias=False)

    def forward(self, input_ids):
        return self.up_projection(self.lookup(input_ids))


def modify(model: nn.Module) -> str:
    try:
        old = model.get_input_embeddings()
    except (AttributeError, NotImplementedError) as error:
        raise NotApplicableError(f"no input embedding ({type(error).__name__})") from None
    if not isinstance(old, nn.Embedding):
        raise NotApplicableError(f"the input embedding is a {type(old).__name__}, not an nn.Embedding")
    new = FactorisedEmbedding(
        old.num_embeddings, old.embedding_dim, bottleneck_size=64, padding_idx=old.padding_idx
    )
    try:
        model.set_input_embeddings(new)
    except NotImplementedError as error:  # EncoderDecoderModel: no one embedding to set
        raise NotApplicableError(f"the input embedding cannot be set ({type(error).__name__})") from None
    return "input embedding factorised"


if __name__ == "__main__":
    model = build(*sys.argv[1:])
    with torch.device("meta"):
        modify(model)
