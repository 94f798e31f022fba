"""Keep the first half of each layer stack, and say so in the config (``layers = layers[:n]``, per-layer settings
too)."""

import re
import sys

import torch
from torch import nn
from transformers import PretrainedConfig
from zoo_build import NotApplicableError, build, owner_and_name

LAYER_COUNT = re.compile(
    r"num_hidden_layers|n_layers?|num_layers|num_(en|de)coder_layers|(en|de)coder_layers"
)


def layer_counts(config: PretrainedConfig) -> list[tuple[PretrainedConfig, str, int]]:
    """(config, attribute, value) for every layer count of the config and of its sub-configs."""
    found, seen = [], set()
    pending = [config]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        for name, value in vars(current).items():
            if isinstance(value, PretrainedConfig):
                pending.append(value)
            elif LAYER_COUNT.fullmatch(name) and isinstance(value, int) and value >= 2:
                found.append((current, name, value))
    return found


def layer_stacks(model: nn.Module, lengths: set[int]) -> list[str]:
    """Paths of the outermost ``nn.ModuleList``s of one class whose length is a layer count of the config."""
    stacks: list[str] = []
    for path, module in model.named_modules():
        if not path or any(path.startswith(stack + ".") for stack in stacks):
            continue
        if isinstance(module, nn.ModuleList) and len(module) in lengths:
            if len({type(layer) for layer in module}) == 1:
                stacks.append(path)
    return stacks


def modify(model: nn.Module) -> str:
    counts = layer_counts(model.config)
    stacks = layer_stacks(model, {value for _, _, value in counts})
    if not stacks:
        raise NotApplicableError("no layer stack whose length is a layer count of the config")
    truncated = set()
    for path in stacks:
        owner, name = owner_and_name(model, path)
        layers = getattr(owner, name)
        truncated.add(len(layers))
        setattr(owner, name, layers[: len(layers) // 2])
    for config, attribute, value in counts:
        if value in truncated:
            setattr(config, attribute, value // 2)
            # Settings given per layer (LED's attention_window, layer_types) keep the first layers' entries.
            for name, setting in list(vars(config).items()):
                if isinstance(setting, list | tuple) and len(setting) == value:
                    setattr(config, name, setting[: value // 2])
    return f"{len(stacks)} layer stacks halved"


def check(model: nn.Module) -> None:
    """After :func:`modify`, in the plain run only: the halved config must still describe the model.

    Where the layer count also sizes other modules (Swin's final norm is as wide as its last stage, YOLOS
    interpolates position embeddings per layer), this simple change leaves a config that builds another
    model: the codemod is right to refuse it, and the change as written does not apply to the architecture.
    """
    try:
        with torch.device("meta"):
            rebuilt = type(model)(model.config)
    except Exception as error:  # noqa: BLE001 - settings validated together (Gemma 4's cache sharing), a backbone's
        # out_indices past the halved stages (Mask2Former, GroundingDINO): the halved config builds no model
        raise NotApplicableError(
            f"the halved config builds no model: {type(error).__name__}: {error}"
        ) from None
    rebuilt_shapes = {name: tuple(tensor.shape) for name, tensor in rebuilt.state_dict().items()}
    shapes = {name: tuple(tensor.shape) for name, tensor in model.state_dict().items()}
    for name in sorted(shapes.keys() | rebuilt_shapes.keys()):
        if shapes.get(name) != rebuilt_shapes.get(name):
            # GPT-NeoX-Japanese gives the last layer alone a bias: which layer is last depends on the count too.
            raise NotApplicableError(
                f"the layer count also sizes {name}: {shapes.get(name)} in the model, "
                f"{rebuilt_shapes.get(name)} built from the halved config"
            )


if __name__ == "__main__":
    model = build(*sys.argv[1:])
    modify(model)
