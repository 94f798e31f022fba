"""Plain objects that their own class builds again from their settings: ``ScaleInput(factor=0.5)``,
``QuantoConfig(weights='int4')``, and transformers 4 configs other than the model's (``LlamaConfig(...,
rope_theta=500000.0)``).

A hook object or a callable of the user's (``register_forward_pre_hook(ScaleInput(0.5))``) is no dataclass, yet
its class usually keeps each constructor argument under the parameter's name; a settings object (transformers'
quantization configs) gives them back through its public ``to_dict()``. Such an object is written as a call of its
class with those settings, and only when that call, made here, builds an object with the same settings, and when
the class's ``__init__`` is written in Python: a class that derives or hides its state is not guessed at.
"""

from __future__ import annotations

import inspect
import types
from typing import Any

import torch
from torch import nn

__all__ = ["config_keywords", "constructor_keywords", "held_tensors_device", "rebuilds", "settings_of"]

_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def constructor_keywords(value: Any) -> dict[str, Any] | None:
    """The keyword arguments with which ``type(value)`` builds an object holding ``value``'s settings; ``None``
    when there are none (no ``__init__`` of its own, a parameter it does not keep, another state once built).

    The settings are what the object's public ``to_dict()`` gives, for a class that has one (transformers'
    quantization configs keep theirs outside ``dataclasses.fields``), else its ``__dict__``. A parameter whose
    setting equals its default is left out. The call is made here and its object compared with ``value``
    (:func:`rebuilds`): a class that derives or hides its state is not guessed at.
    """
    cls = type(value)
    state = settings_of(value)
    if state is None or isinstance(value, nn.Module | type):
        return None
    init = inspect.getattr_static(cls, "__init__", None)
    if init is object.__init__ and not state and type(value).__new__ is object.__new__:
        return {}  # a class that keeps no state (diffusers' AttnProcessor): its call without arguments
    # A constructor written in Python keeps what it is given where __dict__ or to_dict() shows it; a built-in type
    # (io.StringIO) keeps its state elsewhere.
    if not isinstance(init, types.FunctionType):
        return None
    try:
        parameters = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return None
    keywords = {}
    for parameter in parameters:
        if parameter.kind in _VARIADIC:
            continue  # nothing is passed through *args or **kwargs
        if parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
            return None
        if parameter.name in state:
            setting = state[parameter.name]
            if parameter.default is inspect.Parameter.empty or not same_value(setting, parameter.default):
                keywords[parameter.name] = setting
        elif parameter.default is inspect.Parameter.empty:
            return None
    return keywords if rebuilds(value, keywords) else None


def settings_of(value: Any) -> dict[str, Any] | None:
    """What ``value`` holds, as its class's constructor takes it back: its public ``to_dict()`` when its class
    defines one, else its ``__dict__``; ``None`` for an object with neither."""
    to_dict = getattr(type(value), "to_dict", None)
    if callable(to_dict) and not isinstance(value, type):
        try:
            settings = value.to_dict()
        except Exception:  # a to_dict that needs arguments, or fails on this object: not its settings
            settings = None
        if isinstance(settings, dict) and all(isinstance(key, str) for key in settings):
            return settings
    state = getattr(value, "__dict__", None)
    return state if isinstance(state, dict) else None


def rebuilds(value: Any, keywords: dict[str, Any]) -> bool:
    """Whether ``type(value)(**keywords)`` builds an object whose settings (:func:`settings_of`) equal ``value``'s,
    each of the same type."""
    try:
        rebuilt = type(value)(**keywords)
    except Exception:  # the class's own constructor: whatever it raises, the object is not written this way
        return False
    before, after = settings_of(value), settings_of(rebuilt)
    if before is None or after is None or before.keys() != after.keys():
        return False
    return all(same_value(after[name], setting) for name, setting in before.items())


def same_value(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` are the same plain value: the same type and equal (a value without a plain ``==``,
    such as a tensor, is never taken for another)."""
    try:
        return type(a) is type(b) and bool(a == b)
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


def held_tensors_device(value: Any) -> torch.device | None:
    """The one device of the tensors a plain object (or the object a method is bound to) holds in its attributes (and
    in the lists, tuples and dicts among them), when it holds any and none is on ``meta``; ``None`` otherwise.

    No checkpoint gives such tensors their values (they belong to no module), so the object must compute them where
    it is built; built while transformers' ``from_pretrained`` builds the model on ``meta``, it would hold none.
    """
    if isinstance(value, types.MethodType):
        value = value.__self__  # a hook bound to a steering object
    state = getattr(value, "__dict__", None)
    if not isinstance(state, dict) or isinstance(value, nn.Module | type):
        return None
    devices = {tensor.device for tensor in _tensors_in(list(state.values()))}
    if len(devices) != 1:
        return None
    device = devices.pop()
    return None if device.type == "meta" else device


def _tensors_in(values: list[Any]) -> list[torch.Tensor]:
    found = []
    for held in values:
        if isinstance(held, torch.Tensor):
            found.append(held)
        elif type(held) in (list, tuple):
            found += _tensors_in(list(held))
        elif type(held) is dict:
            found += _tensors_in(list(held.values()))
    return found
