"""Plain objects that their own class builds again from their attributes: ``ScaleInput(factor=0.5)``, and
transformers 4 configs other than the model's (``LlamaConfig(..., rope_theta=500000.0)``).

A hook object or a callable of the user's (``register_forward_pre_hook(ScaleInput(0.5))``) is no dataclass, yet
its class usually keeps each constructor argument under the parameter's name. Such an object is written as a
call of its class with those attributes, and only when that call, made here, builds an object with the same
attributes, and when the class's ``__init__`` is written in Python: a class that derives or hides its state is not
guessed at.
"""

from __future__ import annotations

import inspect
import types
from typing import Any

from torch import nn

__all__ = ["config_keywords", "constructor_keywords"]

_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def constructor_keywords(value: Any) -> dict[str, Any] | None:
    """The keyword arguments with which ``type(value)`` builds an object holding ``value``'s attributes; ``None``
    when there are none (no ``__init__`` of its own, a parameter it does not keep, another state once built)."""
    cls = type(value)
    state = getattr(value, "__dict__", None)
    if not isinstance(state, dict) or isinstance(value, nn.Module | type):
        return None
    init = inspect.getattr_static(cls, "__init__", None)
    if init is object.__init__ and not state and type(value).__new__ is object.__new__:
        return {}  # a class that keeps no state (diffusers' AttnProcessor): its call without arguments
    # A constructor written in Python keeps what it is given in __dict__; a built-in type (io.StringIO) keeps its
    # state where __dict__ does not show it.
    if not isinstance(init, types.FunctionType):
        return None
    try:
        parameters = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return None
    keywords = {}
    for parameter in parameters:
        if parameter.kind in _VARIADIC or parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
            return None
        if parameter.name in state:
            keywords[parameter.name] = state[parameter.name]
        elif parameter.default is inspect.Parameter.empty:
            return None
    try:
        rebuilt = cls(**keywords)
    except Exception:  # the user's constructor: whatever it raises, the object is not written this way
        return None
    return keywords if _same_state(vars(rebuilt), state) else None


def _same_state(rebuilt: dict[str, Any], state: dict[str, Any]) -> bool:
    if rebuilt.keys() != state.keys():
        return False
    try:
        return all(
            type(rebuilt[name]) is type(value) and bool(rebuilt[name] == value)
            for name, value in state.items()
        )
    except Exception:  # tensors and other values without a plain == are not compared by guessing
        return False


_CONFIG_RECORDS = ("transformers_version", "model_type")
"""Keys of ``to_diff_dict()`` that record the writer and the class, not arguments of the config's constructor."""


def config_keywords(value: Any) -> dict[str, Any] | None:
    """The keyword arguments with which a transformers config's class builds a config equal to ``value``, from
    its public ``to_diff_dict()`` and its attention implementation (``attn_implementation=``, which the diff
    dict leaves out); ``None`` for any other value, or when the call would build another config.

    Configs of transformers 5 are dataclasses and written as such; a 4.x config is not.
    """
    from transformers import PretrainedConfig

    if not isinstance(value, PretrainedConfig):
        return None
    keywords = {name: item for name, item in value.to_diff_dict().items() if name not in _CONFIG_RECORDS}
    attention = getattr(value, "_attn_implementation", None)
    if attention is not None:
        # A config given to one module (a copy of the model's, with another setting) keeps the attention
        # implementation the model resolved: built without it, that module would run eager attention on
        # the masks the model prepares for its own.
        keywords["attn_implementation"] = attention
    try:
        rebuilt = type(value)(**keywords)
    except Exception:  # a config class that does not take its own attributes back
        return None
    same = {name: item for name, item in rebuilt.to_diff_dict().items() if name not in _CONFIG_RECORDS}
    written = {name: item for name, item in keywords.items() if name != "attn_implementation"}
    if same != written or getattr(rebuilt, "_attn_implementation", None) != attention:
        return None
    return keywords
