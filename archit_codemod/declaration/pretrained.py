"""Whether an object is a transformers model or config, answered without importing transformers if the script did not.

A script that never imported ``transformers.modeling_utils`` built no ``PreTrainedModel``. Importing
transformers only to learn that would cost every plain-PyTorch declaration seconds.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


def is_pretrained_model(obj: Any) -> bool:
    """``isinstance(obj, transformers.PreTrainedModel)``, False without importing it when it was never loaded."""
    modeling_utils = sys.modules.get("transformers.modeling_utils")
    return modeling_utils is not None and isinstance(obj, modeling_utils.PreTrainedModel)


def is_pretrained_config(obj: Any) -> bool:
    """``isinstance(obj, transformers.PretrainedConfig)``, False without importing it when it was never loaded."""
    configuration_utils = sys.modules.get("transformers.configuration_utils")
    return configuration_utils is not None and isinstance(obj, configuration_utils.PretrainedConfig)


def not_a_model_checkpoint(folder: Path) -> str | None:
    """Why the folder transformers' ``save_pretrained`` wrote is no checkpoint a model class's ``from_pretrained``
    loads, or ``None`` when it is one (it holds ``config.json``). Code files in ``folder`` (vendored classes) are
    not part of what it wrote.

    A model that holds adapters added with transformers' ``add_adapter`` is saved as its adapter alone
    (``adapter_config.json`` and the adapter's weights), whatever class declares it.
    """
    if (folder / "config.json").exists():
        return None
    written = ", ".join(sorted(path.name for path in folder.iterdir() if path.suffix != ".py")) or "nothing"
    if (folder / "adapter_config.json").exists():
        return (
            f"transformers' save_pretrained saves it as its PEFT adapter alone ({written}; no config.json, no base "
            "weights), as it saves any model that holds adapters added with add_adapter"
        )
    return f"transformers' save_pretrained writes no config.json for it ({written})"
