"""Put a dependency parsing head on a RoBERTa built at runtime: the seed's first instantiation example.

The seed's README builds ``ForDependencyParsing.fromModelAndHeadConfig(RobertaBaseModel(RobertaConfig()),
DependencyParsingHeadConfig())``. The head scores one relation label per arc, so it needs to know how many there
are: ``DependencyParsingHeadConfig()`` alone (``num_labels=0``) is refused with a ``ValueError`` that says so, and
this script passes ``num_labels``. It then parses a batch of two sentences given word by word (``B x W x S``
token ids: W words of up to S subword tokens, padded with the pad token id) and computes the loss of gold trees.

Run: ``python examples/instantiation_dependency_parsing.py`` (a roberta-base-sized model, randomly initialised;
``--tiny`` for a small one).
"""

from __future__ import annotations

import argparse

import torch
from transformers import RobertaConfig

from archit_codemod.instantiation.basemodels import RobertaBaseModel
from archit_codemod.instantiation.heads import DependencyParsingHeadConfig
from archit_codemod.instantiation.tasks import ForDependencyParsing

RELATIONS = ["root", "nsubj", "obj", "det"]


def build(config: RobertaConfig) -> ForDependencyParsing:
    """The seed's construction, with the number of relation labels."""
    return ForDependencyParsing.fromModelAndHeadConfig(
        RobertaBaseModel(config), DependencyParsingHeadConfig(num_labels=len(RELATIONS))
    )


def example_batch(pad: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two sentences as ``2 x 5 x 2`` token ids (word 0 is the root symbol), with their gold heads and relations.

    Sentence 1, "the cat saw mice": the -> cat (det), cat -> saw (nsubj), saw -> ROOT (root), mice -> saw (obj).
    Sentence 2, "cats sleep" (padded to 5 words): cats -> sleep (nsubj), sleep -> ROOT (root).
    Token ids are made up (no tokenizer is needed to run this): the second word of sentence 1 has two subwords.
    """
    input_ids = torch.tensor(
        [
            [[0, pad], [100, pad], [200, 201], [300, pad], [400, pad]],
            [[0, pad], [500, pad], [600, pad], [pad, pad], [pad, pad]],
        ]
    )
    heads = torch.tensor([[-100, 2, 3, 0, 3], [-100, 2, 0, -100, -100]])
    relations = torch.tensor(
        [
            [-100, RELATIONS.index("det"), RELATIONS.index("nsubj"), 0, RELATIONS.index("obj")],
            [-100, RELATIONS.index("nsubj"), 0, -100, -100],
        ]
    )
    return input_ids, heads, relations


def main(config: RobertaConfig | None = None) -> tuple[ForDependencyParsing, torch.Tensor, torch.Tensor]:
    """Build, then run one forward with labels; returns the model, the arc scores and the loss."""
    torch.manual_seed(0)
    model = build(config if config is not None else RobertaConfig())
    input_ids, heads, relations = example_batch(model.config.base_model_config.pad_token_id)
    output = model(input_ids=input_ids, labels=(heads, relations))
    arc_scores, relation_scores = output.logits
    print(f"arc scores {tuple(arc_scores.shape)}, relation scores {tuple(relation_scores.shape)}")
    print(f"loss of the gold trees under the untrained parser: {output.loss.item():.4f}")
    return model, arc_scores, output.loss


def tiny_config() -> RobertaConfig:
    return RobertaConfig(
        vocab_size=1000, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tiny", action="store_true", help="a small RoBERTa instead of a roberta-base-sized one"
    )
    main(tiny_config() if parser.parse_args().tiny else None)
