"""Whether an object is a transformers model or config, answered without importing transformers if the script did not.

A script that never imported ``transformers.modeling_utils`` built no ``PreTrainedModel``. Importing
transformers only to learn that would cost every plain-PyTorch declaration seconds.
"""

from __future__ import annotations

import sys
from typing import Any


def is_pretrained_model(obj: Any) -> bool:
    """``isinstance(obj, transformers.PreTrainedModel)``, False without importing it when it was never loaded."""
    modeling_utils = sys.modules.get("transformers.modeling_utils")
    return modeling_utils is not None and isinstance(obj, modeling_utils.PreTrainedModel)


def is_pretrained_config(obj: Any) -> bool:
    """``isinstance(obj, transformers.PretrainedConfig)``, False without importing it when it was never loaded."""
    configuration_utils = sys.modules.get("transformers.configuration_utils")
    return configuration_utils is not None and isinstance(obj, configuration_utils.PretrainedConfig)
