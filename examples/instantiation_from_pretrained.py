"""Put a dependency parsing head on a pre-trained base checkpoint: the seed's second instantiation example.

``ForDependencyParsing.from_pretrained(path, RobertaBaseModel, DependencyParsingHeadConfig(...))`` loads the
weights of a transformers ``RobertaModel`` checkpoint into the base model and builds a new head. The model with
head is then saved like any transformers model, and loads back from its own checkpoint without the base model
class or head config (both are recorded in its ``config.json``).

No checkpoint is downloaded: the script saves a small randomly initialised RoBERTa to a temporary folder first.

Run: ``python examples/instantiation_from_pretrained.py``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from transformers import RobertaConfig, RobertaModel

from archit_codemod.instantiation.basemodels import RobertaBaseModel
from archit_codemod.instantiation.heads import DependencyParsingHeadConfig
from archit_codemod.instantiation.tasks import ForDependencyParsing


def save_core_checkpoint(folder: Path) -> RobertaModel:
    """Save a small transformers RoBERTa (the "core checkpoint" of the seed's example) and return it."""
    torch.manual_seed(0)
    core = RobertaModel(
        RobertaConfig(
            vocab_size=1000, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37
        )
    )
    core.save_pretrained(folder)
    return core


def main(folder: Path) -> tuple[RobertaModel, ForDependencyParsing, ForDependencyParsing]:
    """Returns the saved core, the model loaded from it, and that model saved and loaded again."""
    core = save_core_checkpoint(folder / "core-checkpoint")
    model_with_head = ForDependencyParsing.from_pretrained(
        folder / "core-checkpoint", RobertaBaseModel, DependencyParsingHeadConfig(num_labels=4)
    )
    base_model = model_with_head.model
    print(f"base model: {type(base_model).__name__} around {type(base_model.core).__name__}")

    model_with_head.save_pretrained(folder / "parser")
    reloaded = ForDependencyParsing.from_pretrained(folder / "parser")  # head config read from the checkpoint
    print(f"reloaded with {reloaded.config.head_config}")
    return core, model_with_head, reloaded


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as temporary:
        main(Path(temporary))
