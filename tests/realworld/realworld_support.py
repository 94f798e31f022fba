"""Run each real-world script through the command line in this process and judge the result.

The judgement is the harness's own, not the codemod's verification. A run ends in one of:

- ``declared``: exit 0, and the generated code, imported on its own and built the way the script built the
  model, matches the traced model (tree, classes, tensors, ties, hooks, settings), loads its ``state_dict``
  strictly, gives equal outputs, and survives ``save_pretrained``/``from_pretrained`` with equal outputs (where
  transformers can save such a model at all: ``NO_SAVE_PRETRAINED``);
- ``nothing``: exit 1 with "nothing to declare", and the original class, built the way the script built the
  model, passes the same checks;
- ``refused``: exit 2 with one message that names a module path, no traceback, and the script is listed
  among the refused kinds of ``docs/realworld.md``;
- ``FAIL(<cause>)`` otherwise.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.metadata
import importlib.util
import io
import itertools
import json
import re
import shutil
import sys
import tempfile
import time
import traceback
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import transformers
from packaging.requirements import Requirement
from packaging.version import Version
from realworld_compare import SUFFIX, model_differences, output_difference, perturb
from torch import nn

REALWORLD_DIR = Path(__file__).resolve().parent
SCRIPTS_DIR = REALWORLD_DIR / "scripts"
REPO_ROOT = REALWORLD_DIR.parents[1]
DOC = REPO_ROOT / "docs" / "realworld.md"
MODES = ("subclass", "vendor")
MODEL_GLOBAL = "model"
"""Every script leaves its modified model in this global; the harness declares it with ``--model model``
(a PEFT script also holds the ``PeftModel`` wrapper, which contains the model)."""

REQUIREMENTS: dict[str, str] = {
    "adapters_bottleneck.py": "adapters",
    "adapters_lora.py": "adapters",
    "tf_prune_heads.py": "transformers<5",  # transformers 5 removed prune_heads
    "tf_add_adapter_lora.py": "transformers<5 | peft>=0.22",  # transformers 5's add_adapter asks for peft>=0.22
    # Round 4 (docs/realworld.md): libraries that are no dependency of the project. timm, torchvision and
    # open_clip need a torchvision build that matches torch (PyPI's does not import beside torch 2.13.0).
    "diffusers_custom_attn_processor.py": "diffusers",
    "diffusers_default_attn_processor.py": "diffusers",
    "diffusers_dit_geglu_ff.py": "diffusers",
    "diffusers_fuse_qkv.py": "diffusers",
    "diffusers_inpaint_conv_in.py": "diffusers",
    "diffusers_lora_add_adapter.py": "diffusers",
    "diffusers_vae_tiling.py": "diffusers",
    "timm_drop_path.py": "timm",
    "timm_freeze_batch_norm.py": "timm",
    "timm_grad_checkpointing.py": "timm",
    "timm_reset_classifier.py": "timm",
    "timm_rmsnorm_swap.py": "timm",
    "timm_set_input_size.py": "timm",
    "tv_convnext_stochastic_depth.py": "torchvision",
    "tv_mobilenet_classifier.py": "torchvision",
    "tv_quantizable_fuse_model.py": "torchvision",
    "tv_resnet_new_fc.py": "torchvision",
    "opacus_fix_resnet.py": "opacus & torchvision",
    "openclip_clip_adapter.py": "open_clip_torch",
    "openclip_patch_dropout.py": "open_clip_torch",
    "opacus_fix_hf_resnet.py": "opacus",
    "opacus_grad_sample_module.py": "opacus",
    "hqq_linear_swap.py": "hqq",
    "bnb_from_pretrained_4bit.py": "bitsandbytes",
    "torchao_int8_dynamic_filter.py": "torchao",
    "loralib_attention.py": "loralib",
    "tp_bert_head_dims.py": "torch-pruning",
    "tp_resnet_channels.py": "torch-pruning",
    "steering_vectors_patch.py": "steering-vectors",
}
"""Scripts that run only with some installed versions: alternatives separated by ``|``, each alternative one
requirement or several joined by ``&`` (all needed)."""

_CANNOT_LOAD_QUANTO = (
    "transformers' from_pretrained cannot load optimum-quanto's frozen (quantized) weights back"
)
NO_SAVE_PRETRAINED: dict[str, str] = {
    "torch_plain_mlp.py": "not a transformers model: no config to save",
    "torch_ao_static_quant.py": "not a transformers model: no config to save",
    "torch_fuse_conv_bn.py": "not a transformers model: no config to save",
    "st_dense_swap.py": "a SentenceTransformer, not a transformers PreTrainedModel",
    "st_lora.py": "a SentenceTransformer, not a transformers PreTrainedModel",
    "st_normalize_truncate.py": "a SentenceTransformer, not a transformers PreTrainedModel",
    "torch_quantize_dynamic.py": "transformers' save_pretrained cannot save torch's packed quantized parameters",
    "quanto_qint8_freeze.py": _CANNOT_LOAD_QUANTO,
    "quanto_qfloat8.py": _CANNOT_LOAD_QUANTO,
    "timm_drop_path.py": "a timm model, not a transformers PreTrainedModel",
    "timm_freeze_batch_norm.py": "a timm model, not a transformers PreTrainedModel",
    "timm_grad_checkpointing.py": "a timm model, not a transformers PreTrainedModel",
    "timm_reset_classifier.py": "a timm model, not a transformers PreTrainedModel",
    "timm_rmsnorm_swap.py": "a timm model, not a transformers PreTrainedModel",
    "timm_set_input_size.py": "a timm model, not a transformers PreTrainedModel",
    "tv_convnext_stochastic_depth.py": "a torchvision model, not a transformers PreTrainedModel",
    "tv_mobilenet_classifier.py": "a torchvision model, not a transformers PreTrainedModel",
    "tv_quantizable_fuse_model.py": "a torchvision model, not a transformers PreTrainedModel",
    "tv_resnet_new_fc.py": "a torchvision model, not a transformers PreTrainedModel",
    "opacus_fix_resnet.py": "a torchvision model, not a transformers PreTrainedModel",
    "openclip_clip_adapter.py": "an open_clip model, not a transformers PreTrainedModel",
    "openclip_patch_dropout.py": "an open_clip model, not a transformers PreTrainedModel",
    "opacus_grad_sample_module.py": "an opacus GradSampleModule, not a transformers PreTrainedModel",
    "hqq_linear_swap.py": "HQQLinear's state_dict holds settings that are not tensors (nbits, group_size, shape)",
    "torchao_int8_dynamic_filter.py": (
        "transformers' save_pretrained writes torchao's tensor subclasses only through its own TorchAo quantizer"
    ),
    "torch_ao_dynamic_named_qconfig.py": (
        "transformers' save_pretrained cannot save torch's packed quantized parameters"
    ),
    "quanto_requantize.py": _CANNOT_LOAD_QUANTO,
    "loralib_attention.py": (
        "loralib's Linear merges its low-rank update into the weight when put in eval mode, which from_pretrained "
        "does after loading: a checkpoint saved from a merged model is merged a second time, whatever class "
        "declares it (loralib saves lora_state_dict alone, into a model that holds the base weights)"
    ),
    "tf_add_adapter_lora.py": (
        "transformers' save_pretrained of a model with an adapter added by add_adapter saves the adapter alone "
        "(no config.json, no base weights)"
    ),
}
if Version(transformers.__version__) < Version("5"):
    NO_SAVE_PRETRAINED["torch_old_weight_norm.py"] = (
        "transformers 4's from_pretrained renames weight_g/weight_v keys to the parametrization's "
        "original0/original1, which old-style weight_norm modules do not have"
    )
"""Scripts whose model cannot go through ``save_pretrained``/``from_pretrained``, whatever class declares it:
vendor mode runs without ``--save-pretrained`` and the round trip is not checked (the strict load of the traced
``state_dict`` and the outputs still are)."""

_DIFFUSERS_MODEL = "a diffusers ModelMixin, saved and loaded by diffusers"
OWN_SAVE_PRETRAINED: dict[str, str] = {
    "diffusers_custom_attn_processor.py": _DIFFUSERS_MODEL,
    "diffusers_default_attn_processor.py": _DIFFUSERS_MODEL,
    "diffusers_dit_geglu_ff.py": _DIFFUSERS_MODEL,
    "diffusers_fuse_qkv.py": _DIFFUSERS_MODEL,
    "diffusers_inpaint_conv_in.py": _DIFFUSERS_MODEL,
    "diffusers_lora_add_adapter.py": _DIFFUSERS_MODEL,
    "diffusers_vae_tiling.py": _DIFFUSERS_MODEL,
}
"""Scripts whose model is no transformers ``PreTrainedModel`` but saves and loads through its own library's
``save_pretrained``/``from_pretrained`` (diffusers' ``ModelMixin``): vendor mode runs without ``--save-pretrained``
(which writes a transformers checkpoint), and the round trip through the generated class's own
``save_pretrained``/``from_pretrained`` is still checked in both modes."""

transformers.utils.logging.disable_progress_bar()  # keeps the table and the failure reports readable

_NOTHING_MESSAGES = re.compile(
    r"nothing to declare|modified no module|no submodule .* was modified", re.IGNORECASE
)
_counter = itertools.count()


# --- the corpus -----------------------------------------------------------------------------------


def corpus() -> list[str]:
    """The script names of the corpus, sorted."""
    return sorted(path.name for path in SCRIPTS_DIR.glob("*.py") if not path.name.startswith("_"))


def _satisfied(requirement: str) -> bool:
    parsed = Requirement(requirement.strip())
    try:
        version = importlib.metadata.version(parsed.name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return parsed.specifier.contains(version, prereleases=True)


def unavailable(script: str) -> str | None:
    """Why ``script`` cannot run with the installed packages; ``None`` when it can."""
    requirement = REQUIREMENTS.get(script)
    if requirement is None or any(
        all(_satisfied(part) for part in option.split("&")) for option in requirement.split("|")
    ):
        return None
    return f"needs {requirement}"


def refused_in_doc() -> set[str]:
    """The scripts listed in the refused-kinds section of ``docs/realworld.md``."""
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    match = re.search(r"^## Refused kinds\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    return set(re.findall(r"`(\w+\.py)`", match.group(1))) if match else set()


def results_table_rows() -> list[list[str]]:
    """The rows of the results table of ``docs/realworld.md``: the script's name, its target, then one outcome
    per transformers release and mode."""
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    match = re.search(r"^## Results\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    lines = match.group(1).splitlines() if match else []
    return [
        [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
        for line in lines
        if line.startswith("| `")
    ]


# --- outcomes -------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """How one (script, mode) case ended."""

    kind: str
    """``declared``, ``nothing``, ``refused`` or ``FAIL``."""
    cause: str = ""
    """For ``FAIL``: traceback, internal error, script raised, verify failed, unlisted refusal, unclear refusal,
    wrong file, not proven, round trip."""
    detail: str = ""
    """The first error line, or the first difference found."""
    seconds: float = 0.0
    stderr: str = ""
    note: str = ""
    """What was not checked and why (e.g. no round trip for a model the library itself cannot save)."""

    @property
    def label(self) -> str:
        return f"FAIL({self.cause})" if self.kind == "FAIL" else self.kind

    def report(self) -> str:
        """A failure message: the label, the detail and the codemod's standard error (a long one shortened
        to its first and last lines, where a traceback ends)."""
        lines = self.stderr.strip().splitlines()
        shown = lines if len(lines) <= 30 else [*lines[:10], "...", *lines[-20:]]
        stderr = "\n".join(shown)
        return f"{self.label}: {self.detail}\n--- codemod stderr ---\n{stderr}"


def _fail(cause: str, detail: str) -> Outcome:
    return Outcome("FAIL", cause, detail.strip().splitlines()[0] if detail.strip() else "")


# --- running the command line in this process -----------------------------------------------------


@contextlib.contextmanager
def _keeping_trace(kept: list[Any]) -> Iterator[None]:
    """Keep the trace of the command line's script run, so that the script does not run a second time."""
    from archit_codemod.declaration.tracing import tracer

    original = tracer.run_script

    def run_script(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        kept.append(result)
        return result

    tracer.run_script = run_script
    try:
        yield
    finally:
        tracer.run_script = original


@dataclass
class _CliRun:
    code: int | None
    stderr: str
    crash: BaseException | None
    trace: Any


def _run_cli(arguments: list[str]) -> _CliRun:
    from archit_codemod import cli

    kept: list[Any] = []
    out, err = io.StringIO(), io.StringIO()
    code, crash = None, None
    with _keeping_trace(kept), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(arguments)
        except BaseException as error:  # the command line must never raise: that is the finding
            crash = error
            traceback.print_exc(file=err)
    return _CliRun(code, err.getvalue(), crash, kept[0] if kept else None)


def cli_arguments(script: str, mode: str, output: Path) -> list[str]:
    arguments = ["--model", MODEL_GLOBAL, "-o", str(output)]
    if mode == "vendor":
        arguments += ["--mode", "vendor"]
        if script not in NO_SAVE_PRETRAINED and script not in OWN_SAVE_PRETRAINED:
            arguments.append("--save-pretrained")
    return [*arguments, str(SCRIPTS_DIR / script)]


def run_case(script: str, mode: str, workdir: Path) -> Outcome:
    """Run the command line on ``script`` in ``mode`` (output under ``workdir``) and judge the result."""
    started = time.perf_counter()
    name = f"rw_{Path(script).stem}_{mode}_{next(_counter)}"
    output = workdir / (f"{name}.py" if mode == "subclass" else name)
    run = _run_cli(cli_arguments(script, mode, output))
    if run.trace is None and run.code in (0, 1):
        # The command line no longer reaches the tracer's run_script through its module: trace a run here.
        from archit_codemod.declaration.tracing.tracer import run_script

        with contextlib.redirect_stdout(io.StringIO()):
            run.trace = run_script(SCRIPTS_DIR / script)
    try:
        outcome = _judge(script, mode, output, run)
    except Exception as error:  # a judgement that raises is a finding about the generated code, not a crash
        outcome = _fail("wrong file", f"judging raised {type(error).__name__}: {error}")
    outcome.seconds = time.perf_counter() - started
    outcome.stderr = run.stderr
    return outcome


def _error_line(stderr: str) -> str:
    for line in stderr.splitlines():
        if line.startswith("archit_codemod: error:"):
            return line.removeprefix("archit_codemod: error:").strip()
    lines = [line for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _judge(script: str, mode: str, output: Path, run: _CliRun) -> Outcome:
    if run.crash is not None or ("Traceback (most recent call last)" in run.stderr and run.code != 2):
        crash = run.crash
        detail = f"{type(crash).__name__}: {crash}" if crash is not None else _error_line(run.stderr)
        return _fail("traceback", detail)
    if run.code == 0:
        return _judge_declared(script, mode, output, run.trace)
    if run.code == 1:
        if _NOTHING_MESSAGES.search(run.stderr):
            return _judge_nothing(script, run.trace)
        return _fail("verify failed", _error_line(run.stderr))
    if run.code == 2:
        return _judge_refusal(script, run)
    return _fail("traceback", f"exit code {run.code}: {_error_line(run.stderr)}")


def _judge_refusal(script: str, run: _CliRun) -> Outcome:
    message = _error_line(run.stderr)
    errors = [line for line in run.stderr.splitlines() if line.startswith("archit_codemod: error:")]
    if (
        "Traceback (most recent call last)" in run.stderr
        and f"{SCRIPTS_DIR / script} failed" not in run.stderr
    ):
        return _fail("traceback", message)
    if f"{SCRIPTS_DIR / script} failed" in run.stderr:
        return _fail("script raised", run.stderr.split("failed:", 1)[-1].strip().splitlines()[-1])
    if re.search(r"\bbug\b", message, re.IGNORECASE):
        return _fail("internal error", message)
    if len(errors) != 1:
        return _fail("unclear refusal", f"{len(errors)} error messages: {message}")
    model = run.trace.namespace.get(MODEL_GLOBAL) if run.trace is not None else None
    # The whole message counts (a refusal lists the differing paths on the lines after its first); the root
    # itself is named "<root>", its submodules by their dotted paths.
    whole = run.stderr[run.stderr.index("archit_codemod: error:") :]
    paths = [path or "<root>" for path, _ in model.named_modules()] if isinstance(model, nn.Module) else []
    if paths and not any(re.search(rf"(?<![\w.]){re.escape(path)}(?![\w])", whole) for path in paths):
        return _fail("unclear refusal", f"names no module path: {message}")
    if script not in refused_in_doc():
        return _fail("unlisted refusal", message)
    return Outcome("refused", detail=message)


# --- judging a declaration ------------------------------------------------------------------------


@dataclass
class _Traced:
    model: nn.Module
    inputs: dict[str, Any]
    trace: Any


def _traced(trace: Any) -> _Traced:
    model = trace.namespace[MODEL_GLOBAL]
    inputs = trace.namespace.get("example_inputs")
    if inputs is None:
        inputs = model.dummy_inputs
    return _Traced(model.eval(), inputs, trace)


def _fresh(value: Any, trace: Any) -> Any:
    """``value`` with every module in it built anew from its recorded constructor call.

    A root whose constructor takes modules (``SentenceTransformer(modules=[...])``) must not get the traced
    modules themselves: they carry the modifications the generated class has to make.
    """
    if isinstance(value, nn.Module):
        call = trace.call_of(value)
        if call is None:
            raise RuntimeError(f"no recorded constructor call for the argument {type(value).__qualname__}")
        built = call.cls(*_fresh(call.args, trace), **_fresh(call.kwargs, trace))
        # As the script passed it: a constructor may read which parameters train (opacus' GradSampleModule).
        flags = {name: parameter.requires_grad for name, parameter in value.named_parameters()}
        for name, parameter in built.named_parameters():
            parameter.requires_grad_(flags.get(name, parameter.requires_grad))
        return built
    if isinstance(value, (list, tuple)):
        return type(value)(_fresh(item, trace) for item in value)
    if isinstance(value, dict):
        return {key: _fresh(item, trace) for key, item in value.items()}
    return value


def build_like_script(cls: type, traced: _Traced) -> nn.Module:
    """``cls`` built on CPU as the script built the traced root (its recorded call, else from its config)."""
    torch.manual_seed(1)
    call = traced.trace.call_of(traced.model)
    if call is not None:
        return cls(*_fresh(call.args, traced.trace), **_fresh(call.kwargs, traced.trace))
    return cls(traced.model.config)


def _loaded_quantized(cls: type, config: Any, quantization: Any) -> nn.Module:
    """``cls`` as a user loads a quantized model: ``from_pretrained`` of a checkpoint of ``cls`` (fresh weights, the
    config without what the quantizer recorded), given the quantization config."""
    torch.manual_seed(1)
    settings = config.to_dict()
    settings.pop("quantization_config", None)
    folder = Path(tempfile.mkdtemp(prefix="realworld_quantized_"))
    try:
        cls(type(config).from_dict(settings)).save_pretrained(folder)
        return cls.from_pretrained(folder, quantization_config=copy.deepcopy(quantization))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _check_rebuilt(
    built: nn.Module, traced: _Traced, generated_modules: set[str], *, subclass_mode: bool
) -> str | None:
    """The first problem of a rebuilt model: structure, strict load of the traced weights, outputs.

    Both models are compared in eval mode (``_traced`` puts the traced one there): some modules change their
    state with the mode (loralib's ``Linear`` merges its low-rank update into the weight and records it in
    ``merged``).
    """
    built.eval()
    differences = model_differences(built, traced.model, generated_modules, subclass_mode=subclass_mode)
    if differences:
        more = f" (and {len(differences) - 1} more)" if len(differences) > 1 else ""
        return differences[0] + more
    try:
        built.load_state_dict(traced.model.state_dict(), strict=True)
    except Exception as error:
        return f"strict load of the traced state_dict: {_first_line(error)}"
    return output_difference(built, traced.model, traced.inputs)


def _judge_nothing(script: str, trace: Any) -> Outcome:
    traced = _traced(trace)
    perturb(traced.model)
    quantization = getattr(getattr(traced.model, "config", None), "quantization_config", None)
    if quantization is not None:
        built = _loaded_quantized(type(traced.model), traced.model.config, quantization)
    else:
        built = build_like_script(type(traced.model), traced)
    problem = _check_rebuilt(built, traced, set(), subclass_mode=True)
    if problem is not None:
        return _fail("not proven", f"nothing to declare, but the original class differs: {problem}")
    return Outcome("nothing")


@contextlib.contextmanager
def _imported_file(path: Path) -> Iterator[types.ModuleType]:
    """``path`` imported as a fresh module, registered in ``sys.modules`` while in use."""
    name = f"realworld_generated_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(name, None)


@contextlib.contextmanager
def _imported_folder(folder: Path) -> Iterator[list[types.ModuleType]]:
    """Every ``.py`` file of ``folder`` imported as a module of one fresh package."""
    package_name = f"realworld_vendored_{next(_counter)}"
    package = types.ModuleType(package_name)
    package.__path__ = [str(folder)]
    sys.modules[package_name] = package
    try:
        yield [importlib.import_module(f"{package_name}.{path.stem}") for path in sorted(folder.glob("*.py"))]
    finally:
        for name in [n for n in sys.modules if n == package_name or n.startswith(package_name + ".")]:
            del sys.modules[name]


def _root_class(modules: list[types.ModuleType], traced: _Traced) -> type | None:
    wanted = type(traced.model).__name__ + SUFFIX
    for module in modules:
        cls = getattr(module, wanted, None)
        if isinstance(cls, type) and cls.__module__ == module.__name__:
            return cls
    return None


def _judge_declared(script: str, mode: str, output: Path, trace: Any) -> Outcome:
    if not output.exists():
        return _fail("wrong file", f"exit 0 but nothing written to {output.name}")
    traced = _traced(trace)
    note = ""
    if mode == "vendor" and script not in NO_SAVE_PRETRAINED and script not in OWN_SAVE_PRETRAINED:
        problem = _check_saved_folder(output, traced)
        if problem is not None:
            return _fail("wrong file", f"saved folder: {problem}")
    perturb(traced.model)
    opener = _imported_file(output) if mode == "subclass" else _imported_folder(output)
    with opener as imported:
        modules = [imported] if isinstance(imported, types.ModuleType) else imported
        cls = _root_class(modules, traced)
        if cls is None:
            return _fail("wrong file", f"defines no {type(traced.model).__name__}{SUFFIX}")
        built = build_like_script(cls, traced)
        names = {module.__name__ for module in modules}
        problem = _check_rebuilt(built, traced, names, subclass_mode=mode == "subclass")
        if problem is not None:
            return _fail("wrong file", problem)
        if script in NO_SAVE_PRETRAINED:
            note = f"no round trip: {NO_SAVE_PRETRAINED[script]}"
        else:
            problem, note = _round_trip(built, traced, output.parent / f"{output.name}_saved")
            if problem is not None:
                return _fail("round trip", problem)
    return Outcome("declared", note=note)


def _round_trip(built: nn.Module, traced: _Traced, folder: Path) -> tuple[str | None, str]:
    """``save_pretrained`` then ``from_pretrained`` of the rebuilt model: ``(problem, note)``."""
    try:
        try:
            built.save_pretrained(folder)
            loaded, info = type(built).from_pretrained(folder, output_loading_info=True)
        except Exception as error:
            return f"save_pretrained/from_pretrained raises {type(error).__name__}: {_first_line(error)}", ""
        return _loading_problem(info) or output_difference(loaded, traced.model, traced.inputs), ""
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else ""


def _loading_problem(info: dict[str, Any]) -> str | None:
    for key in ("missing_keys", "unexpected_keys", "mismatched_keys"):
        if info.get(key):
            return f"from_pretrained: {key} {sorted(map(str, info[key]))[:5]}"
    return None


def _check_saved_folder(folder: Path, traced: _Traced) -> str | None:
    """The folder written with ``--save-pretrained`` loads through its ``auto_map`` and gives the traced outputs."""
    config_file = folder / "config.json"
    if not config_file.exists():
        return "no config.json"
    wanted = type(traced.model).__name__ + SUFFIX
    auto_map = json.loads(config_file.read_text(encoding="utf-8")).get("auto_map") or {}
    auto_classes = [name for name, target in auto_map.items() if target.split(".")[-1] == wanted]
    if not auto_classes:
        return f"config.json auto_map {auto_map} names no {wanted}"
    auto_class = getattr(transformers, sorted(auto_classes)[0])
    try:
        loaded, info = auto_class.from_pretrained(folder, trust_remote_code=True, output_loading_info=True)
    finally:
        _forget_remote_code(folder)
    return _loading_problem(info) or output_difference(loaded, traced.model, traced.inputs)


def _forget_remote_code(folder: Path) -> None:
    """Remove the copy of the folder's code that ``trust_remote_code`` made in transformers' modules cache."""
    from transformers.utils import HF_MODULES_CACHE

    copied = Path(HF_MODULES_CACHE) / "transformers_modules" / re.sub(r"\W", "_", folder.name)
    shutil.rmtree(copied, ignore_errors=True)
