"""The functional part of verification: the generated class, built on the CPU, computes what the traced model does.

Where it is cheap, verification goes beyond comparing module trees on ``meta``:

1. the generated root is built on the CPU, and no parameter or buffer may be left on ``meta`` (a module that
   builds on ``meta`` and materialises later, as optimum-quanto's do, must not be declared by a constructor
   call that leaves it there);
2. the traced model's ``state_dict`` must load into it strictly;
3. for a transformers model (one with ``dummy_inputs``), both models run ``dummy_inputs`` in eval mode and
   every output tensor must match (``torch.testing.assert_close`` with its default tolerances for the dtype,
   which is exact to float rounding; the traced model's modes are restored afterwards).

The inputs are those the script ran the model on (the tracer records each module's first call from outside any
forward), else the model's ``dummy_inputs``, else inputs built from its config (:func:`example_inputs`). It runs only when the traced weights are real (on the CPU, none on
``meta``), the model has at most :data:`MAX_PARAMETERS` parameters (the CPU build allocates and initialises a
second copy of the weights), and the root's constructor call passes no modules (building it again would put the
traced modules into the new instance). Otherwise the meta comparison alone decides, and verification says why the
outputs were not compared (:class:`~archit_codemod.declaration.checking.verify.Verdict`).
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from archit_codemod.declaration.errors import VerificationError
from archit_codemod.declaration.records import ForwardCall

__all__ = [
    "MAX_PARAMETERS",
    "ComparedOutputs",
    "build_on_cpu",
    "check_outputs",
    "example_inputs",
    "first_output_difference",
    "match_dtypes",
    "require_same_outputs",
    "short_error",
    "skip_reason",
]

MAX_PARAMETERS = 30_000_000
"""The largest traced model (in parameters) that verification also builds on the CPU and runs."""


def skip_reason(traced: nn.Module, arguments: tuple[Any, ...] = ()) -> str | None:
    """Why the functional check does not run for ``traced`` (built with ``arguments``), or ``None``."""
    tensors = [*traced.parameters(), *traced.buffers()]
    devices = sorted({tensor.device.type for tensor in tensors} - {"cpu"})
    if "meta" in devices:
        return "its weights are on the meta device, with no values to compute with"
    if devices:
        return f"its weights are not all on the CPU ({', '.join(devices)})"
    if sum(parameter.numel() for parameter in traced.parameters()) > MAX_PARAMETERS:
        return f"it has more than {MAX_PARAMETERS:,} parameters"
    return None


def build_on_cpu(build: Callable[[], nn.Module], failure: str) -> nn.Module:
    """``build()`` on the CPU, checked to leave nothing on ``meta``.

    Raises:
        VerificationError: starting with ``failure``: the build fails, or names the tensors left on meta.
    """
    try:
        with torch.device("cpu"), quiet():
            built = build()
    except VerificationError:
        raise
    except Exception as error:
        raise VerificationError(f"{failure}: building it on the CPU fails: {short_error(error)}") from error
    on_meta = [name for name, tensor in _tensors_of(built) if tensor.device.type == "meta"]
    if on_meta:
        raise VerificationError(
            f"{failure}: built on the CPU, it leaves {few(on_meta)} on the meta device, so loading weights into "
            "it does nothing and its forward fails. Fix: build the module with a constructor that allocates its "
            "tensors on the device it is given (not on meta)."
        )
    return built


@dataclass(frozen=True)
class ComparedOutputs:
    """What the functional check compared: the inputs both models ran on, described, and the traced model's outputs
    on them; or why no outputs were compared (``not_compared``)."""

    described: str = ""
    inputs: Any = None
    expected: Any = None
    not_compared: str | None = None


def check_outputs(
    built: nn.Module, traced: nn.Module, failure: str, called_with: ForwardCall | None = None
) -> ComparedOutputs:
    """Load ``traced``'s weights strictly into ``built`` (a CPU build) and compare outputs (see module doc).

    Returns the inputs and outputs compared, or why none were (no inputs on which the traced model runs).

    Raises:
        VerificationError: starting with ``failure``, naming the keys that do not load or the first differing
            output.
    """
    try:
        built.load_state_dict(traced.state_dict(), strict=True)
    except Exception as error:
        raise VerificationError(
            f"{failure}: the traced model's state_dict does not load into it strictly: {error}"
        ) from error
    match_dtypes(built, traced)
    tried = []
    for described, inputs in example_inputs(traced, called_with):
        try:
            expected = _run(traced, inputs)
        except Exception as error:  # the traced model itself does not run on them: try other inputs
            tried.append(f"{described}: {short_error(error)}")
            continue
        compared = ComparedOutputs(described, inputs, expected)
        require_same_outputs(built, compared, failure, "with the traced weights loaded")
        return compared
    if not tried:
        return ComparedOutputs(
            not_compared="the codemod has no inputs for it (no dummy_inputs, and no input it can build from a config)"
        )
    return ComparedOutputs(
        not_compared=f"the traced model runs on none of the inputs the codemod can build ({'; '.join(tried)})"
    )


def require_same_outputs(model: nn.Module, compared: ComparedOutputs, failure: str, made: str) -> None:
    """Run ``model`` (``made`` says how it got its weights) on the compared inputs and require the traced model's
    outputs.

    Raises:
        VerificationError: starting with ``failure``: the model fails on them, or the first differing output.
    """
    try:
        got = _run(model, compared.inputs)
    except Exception as error:
        raise VerificationError(
            f"{failure}: {made}, it fails on {compared.described}, where the traced model runs: {short_error(error)}"
        ) from error
    difference = first_output_difference(compared.expected, got)
    if difference is not None:
        raise VerificationError(
            f"{failure}: {made}, its outputs on {compared.described} differ: {difference}"
        )


def example_inputs(model: nn.Module, called_with: ForwardCall | None = None) -> Iterator[tuple[str, Any]]:
    """Inputs to run ``model`` on, described: what the script called it with (when on the CPU), its
    ``dummy_inputs``, then inputs built from its config for its main input (token ids within the vocabulary,
    images, audio), with decoder inputs for an encoder-decoder."""
    if called_with is not None and _on_the_cpu([*called_with.args, *called_with.kwargs.values()]):
        yield "the inputs the script ran it on", called_with
    dummy = _dummy_inputs(model)
    if dummy is not None:
        yield "dummy_inputs", dummy
    built = _inputs_from_config(model)
    if built is not None:
        yield "inputs built from its config", built


def _inputs_from_config(model: nn.Module) -> dict[str, torch.Tensor] | None:
    config = getattr(model, "config", None)
    name = getattr(model, "main_input_name", None)
    if config is None or name is None:
        return None
    generator = torch.Generator().manual_seed(0)
    floating = next((p.dtype for p in model.parameters() if p.dtype.is_floating_point), torch.float32)
    inputs: dict[str, torch.Tensor] = {}
    vocabulary = getattr(config, "vocab_size", None)
    if name == "input_ids" and isinstance(vocabulary, int) and vocabulary > 1:
        inputs["input_ids"] = torch.randint(1, vocabulary, (2, 7), generator=generator)
        inputs["attention_mask"] = torch.ones(2, 7, dtype=torch.long)
    elif name == "pixel_values":
        size = getattr(config, "image_size", None)
        height, width = (size, size) if isinstance(size, int) else tuple(size or (0, 0))[:2]
        channels = getattr(config, "num_channels", 3)
        if not height:
            return None
        inputs["pixel_values"] = torch.randn(1, channels, height, width, generator=generator, dtype=floating)
    elif name == "input_values":
        inputs["input_values"] = torch.randn(1, 4000, generator=generator, dtype=floating)
    elif name == "input_features":
        bins = getattr(config, "num_mel_bins", None)
        positions = getattr(config, "max_source_positions", None)
        if not (bins and positions):
            return None
        inputs["input_features"] = torch.randn(1, bins, 2 * positions, generator=generator, dtype=floating)
    else:
        return None
    if getattr(config, "is_encoder_decoder", False):
        start = getattr(config, "decoder_start_token_id", None)
        inputs["decoder_input_ids"] = torch.full(
            (inputs[name].shape[0], 3), start if isinstance(start, int) else 0
        )
    return inputs


def short_error(error: BaseException) -> str:
    """``Type: first line of the message`` (torch's dispatcher errors run to a hundred lines)."""
    lines = str(error).strip().splitlines()
    first = lines[0] if lines else ""
    first = first if len(first) <= 300 else first[:297] + "..."
    return f"{type(error).__name__}: {first}" + (" [...]" if len(lines) > 1 else "")


def first_output_difference(expected: Any, got: Any) -> str | None:
    """The first output (by name, ``logits``, ``hidden_states[1]``) that differs, described; ``None`` if none."""
    expected_tensors, got_tensors = dict(_output_tensors(expected)), dict(_output_tensors(got))
    for name in expected_tensors:
        if name not in got_tensors:
            return f"output {name} is missing"
    for name in got_tensors:
        if name not in expected_tensors:
            return f"output {name} is new"
    for name, want in expected_tensors.items():
        have = got_tensors[name]
        if have.shape != want.shape or have.dtype != want.dtype:
            return f"output {name} is {tuple(have.shape)} {have.dtype}, the traced model's {tuple(want.shape)} {want.dtype}"
        try:
            torch.testing.assert_close(have, want, equal_nan=True)
        except AssertionError as mismatch:
            detail = " ".join(line.strip() for line in str(mismatch).splitlines()[:3])
            return f"output {name}: {detail}"
    return None


def _output_tensors(value: Any, prefix: str = "") -> Iterator[tuple[str, torch.Tensor]]:
    if isinstance(value, torch.Tensor):
        yield prefix or "output", value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _output_tensors(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _output_tensors(item, f"{prefix}[{index}]")


def _run(model: nn.Module, inputs: Any) -> Any:
    modes = [(module, module.training) for module in model.modules()]
    try:
        model.eval()
        with torch.no_grad(), torch.random.fork_rng(devices=[]), quiet():
            torch.manual_seed(0)
            if isinstance(inputs, ForwardCall):
                return model(*inputs.args, **inputs.kwargs)
            return model(**inputs) if isinstance(inputs, Mapping) else model(inputs)
    finally:
        for module, training in modes:
            module.training = training


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """No Python warnings and only transformers' errors while the codemod builds or runs a model again.

    The script's own run already showed what the constructors warn about; a forward on ``dummy_inputs``
    (padded, without an attention mask) would warn about the inputs, not about the user's model.
    """
    with warnings.catch_warnings(), _transformers_errors_only():
        warnings.simplefilter("ignore")
        yield


@contextlib.contextmanager
def _transformers_errors_only() -> Iterator[None]:
    if "transformers" not in sys.modules:  # nothing of transformers can log; importing it costs seconds
        yield
        return
    from transformers.utils import logging as transformers_logging

    verbosity = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()
    try:
        yield
    finally:
        transformers_logging.set_verbosity(verbosity)


def _on_the_cpu(values: list[Any]) -> bool:
    """Whether every tensor among ``values`` (and the lists, tuples and dicts they hold) is on the CPU."""
    return all(
        not isinstance(value, torch.Tensor) or value.device.type == "cpu" for value in _flattened(values)
    )


def _dummy_inputs(model: nn.Module) -> Any:
    with contextlib.suppress(Exception):
        return getattr(model, "dummy_inputs", None)
    return None


def match_dtypes(built: nn.Module, traced: nn.Module) -> None:
    """Give each tensor of ``built`` the dtype of the traced one (loading copies values, not dtypes)."""
    traced_tensors = dict(_tensors_of(traced))
    for name, tensor in _tensors_of(built):
        wanted = traced_tensors.get(name)
        if wanted is not None and tensor.dtype != wanted.dtype:
            tensor.data = tensor.data.to(wanted.dtype)


def _tensors_of(model: nn.Module) -> Iterator[tuple[str, torch.Tensor]]:
    yield from model.named_parameters(remove_duplicate=False)
    yield from model.named_buffers(remove_duplicate=False)


def _flattened(value: Any) -> Iterator[Any]:
    if type(value) in (list, tuple):
        for item in value:
            yield from _flattened(item)
    elif type(value) is dict:
        for item in value.values():
            yield from _flattened(item)
    else:
        yield value


def few(names: list[str]) -> str:
    """The first five of ``names``, and how many more there are."""
    shown = ", ".join(names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")
