"""What every zoo script shares: build a transformers class from its default config on ``meta``.

Each zoo script is run as ``python -m archit_codemod benchmarks/zoo/KIND.py MODEL_TYPE CLASS_NAME``. It
builds ``CLASS_NAME`` from the default config of ``MODEL_TYPE`` on the ``meta`` device (a default config can
be tens of GB), then changes the model the way a user would. A script that finds nothing of its kind in the
model raises :class:`NotApplicableError`.
"""

from __future__ import annotations

import ast
import functools

import torch
import transformers
from torch import nn
from transformers import AutoConfig


class NotApplicableError(Exception):
    """The model has nothing this kind of change applies to (no query projection, no layer stack, ...)."""


def build(model_type: str, class_name: str, *settings: str) -> nn.Module:
    """``CLASS_NAME`` built on ``meta`` from the default config of ``MODEL_TYPE``.

    ``settings`` (``"hidden_size=32"``, ``"text_config.num_hidden_layers=2"``) change the config first: the
    test suite builds tiny models with them.
    """
    model_class = getattr(transformers, class_name)
    config = AutoConfig.for_model(model_type)
    if not isinstance(config, model_class.config_class):
        # A class of a composite model (MusicgenForCausalLM) takes its own sub-config, not the model type's.
        config = model_class.config_class()
    for setting in settings:
        path, _, value = setting.partition("=")
        *parents, name = path.split(".")
        target = functools.reduce(getattr, parents, config)
        setattr(target, name, ast.literal_eval(value))
    with torch.device("meta"):
        return model_class(config)


def owner_and_name(model: nn.Module, path: str) -> tuple[nn.Module, str]:
    """The module holding ``path`` and the child name under which it holds it."""
    parent, _, name = path.rpartition(".")
    return model.get_submodule(parent), name


def path_of(model: nn.Module, module: nn.Module) -> str | None:
    """The first path of ``module`` inside ``model``, or ``None``."""
    return next((path for path, child in model.named_modules() if child is module), None)
