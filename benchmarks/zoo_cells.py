"""One row of the zoo: an architecture, one kind of change, both modes of the codemod.

The kind's script (``benchmarks/zoo/KIND.py MODEL_TYPE CLASS_NAME``) first runs plainly, to learn whether the
model builds and whether the change applies; then the codemod traces it once and generates each mode from
that one trace, verifies it, and this module checks the result once more on its own: it imports the
generated files as a package, builds the root class on ``meta`` from the traced model's config and compares
module paths, classes, parameter and buffer shapes and weight tying with the traced model.

Results of a cell: ``pass``; ``refused`` (a :class:`DeclarationError`, exit 2 of the command line, with a
message); ``not-applicable`` (the model has nothing of the kind); ``does-not-build`` (no default config, not
exported, or not buildable on ``meta``: the model's limit); ``fail`` (anything else: the codemod's, unless
the cause says otherwise); ``script-error`` (the zoo script's own change raised: this sweep's bug).
"""

from __future__ import annotations

import importlib.util
import os
import re
import runpy
import sys
import tempfile
import traceback
import types
from pathlib import Path

ZOO = Path(__file__).resolve().parent / "zoo"
KINDS = {
    "lora": "lora_query.py",
    "truncate": "truncate_layers.py",
    "norms": "swap_norms.py",
    "head": "mlp_head.py",
    "embedding": "factorised_embedding.py",
}
MODES = ("subclass", "vendor")
CELL_RESULTS = ("pass", "refused", "not-applicable", "does-not-build", "fail", "script-error")
SUFFIX = "Modified"
REPO_ROOT = Path(__file__).resolve().parents[1]
_INSTALLED_PREFIX = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][^\s'\"\\/]+)+[\\/](?:site|dist)-packages[\\/]")


def one_line(error: BaseException) -> str:
    """The error's first line; with the next one when the first only announces it (ends with a colon).

    Paths are shown as the machine that ran the sweep does not matter: an installed file from its package
    (``transformers/models/xlstm/modeling_xlstm.py``), a file of the repository from its root.
    """
    lines = f"{type(error).__name__}: {error}".strip().splitlines()
    text = lines[0] + (" " + lines[1].strip() if len(lines) > 1 and lines[0].endswith(":") else "")
    text = _INSTALLED_PREFIX.sub("", text).replace(f"{REPO_ROOT}{os.sep}", "")
    return text[:300]


def located(error: BaseException) -> str:
    """The error's first line and the file and line that raised it."""
    frames = traceback.extract_tb(error.__traceback__)
    return one_line(error) + (f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "")


def compare_trees(traced, rebuilt, mode: str = "subclass") -> str | None:
    """The first difference between two module trees, or ``None``: paths, classes, shapes, tying.

    A generated class is named ``<Name><Suffix>`` (``<Name><Suffix>2`` for a second variant); in subclass
    mode it must subclass the traced class, in vendor mode it is an edited copy of it.
    """
    # Every path, also those of a module reachable under several names (BART's shared embeddings).
    traced_modules = dict(traced.named_modules(remove_duplicate=False))
    rebuilt_modules = dict(rebuilt.named_modules(remove_duplicate=False))
    if traced_modules.keys() != rebuilt_modules.keys():
        only_traced = sorted(traced_modules.keys() - rebuilt_modules.keys())[:3]
        only_rebuilt = sorted(rebuilt_modules.keys() - traced_modules.keys())[:3]
        return f"module paths differ: only traced {only_traced}, only rebuilt {only_rebuilt}"
    for path, module in traced_modules.items():
        traced_type, rebuilt_type = type(module), type(rebuilt_modules[path])
        # The same class, or a copy of it (a script class; a vendored class): the same name.
        if rebuilt_type.__name__ == traced_type.__name__:
            continue
        generated = rebuilt_type.__name__.startswith(traced_type.__name__ + SUFFIX)
        if generated and (mode == "vendor" or issubclass(rebuilt_type, traced_type)):
            continue
        return f"{path or '<root>'}: traced {traced_type.__name__}, rebuilt {rebuilt_type.__name__}"
    for what, traced_tensors, rebuilt_tensors in (
        ("state_dict", traced.state_dict(), rebuilt.state_dict()),
        ("buffers", dict(traced.named_buffers()), dict(rebuilt.named_buffers())),
    ):
        traced_shapes = {k: tuple(v.shape) for k, v in traced_tensors.items()}
        rebuilt_shapes = {k: tuple(v.shape) for k, v in rebuilt_tensors.items()}
        if traced_shapes != rebuilt_shapes:
            keys = traced_shapes.keys() | rebuilt_shapes.keys()
            differing = sorted(k for k in keys if traced_shapes.get(k) != rebuilt_shapes.get(k))
            return f"{what} differs at {differing[:3]}"
    # named_parameters() lists a tied parameter once: equal name sets mean equal tying.
    traced_unique = {name for name, _ in traced.named_parameters()}
    rebuilt_unique = {name for name, _ in rebuilt.named_parameters()}
    if traced_unique != rebuilt_unique:
        return f"weight tying differs: {sorted(traced_unique ^ rebuilt_unique)[:3]}"
    return None


def import_package(files: dict[str, str], directory: Path, name: str) -> types.ModuleType:
    """Write ``files`` (name -> text) into ``directory`` and import them as the package ``name``."""
    for file_name, text in files.items():
        (directory / file_name).write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(
        name, directory / "__init__.py", submodule_search_locations=[]
    )
    package = types.ModuleType(name)
    package.__path__ = [str(directory)]
    package.__spec__ = spec
    sys.modules[name] = package
    return package


def independent_check(output, traced_model) -> str | None:
    """Import the generated files on their own, build the root class on meta, compare with the traced model."""
    import importlib

    import torch

    module_name, class_name = output.roots["model"]
    package_name = f"zoo_generated_{abs(hash((module_name, class_name, id(output))))}"
    with tempfile.TemporaryDirectory(prefix="zoo_") as directory:
        import_package({f.name: f.text for f in output.files}, Path(directory), package_name)
        try:
            root_class = getattr(importlib.import_module(f"{package_name}.{module_name}"), class_name, None)
            if root_class is None:
                return f"the output names {module_name}.{class_name} as root, which it does not define"
            with torch.device("meta"):
                rebuilt = root_class(traced_model.config)
        finally:
            for name in [n for n in sys.modules if n == package_name or n.startswith(package_name + ".")]:
                del sys.modules[name]
    return compare_trees(traced_model, rebuilt, output.mode)


def original_rebuilds(traced_model) -> str | None:
    """For "nothing to declare": the difference between the traced model and its own class built again."""
    import torch

    with torch.device("meta"):
        rebuilt = type(traced_model)(traced_model.config)
    return compare_trees(traced_model, rebuilt)


def plain_run(
    script: Path, model_types: list[str], class_name: str, settings: tuple[str, ...]
) -> tuple[dict, str]:
    """Build and change the model without the codemod: ``({"result": ...} or {}, model_type)``."""
    import torch

    if str(ZOO) not in sys.path:
        sys.path.insert(0, str(ZOO))
    plain = runpy.run_path(str(script), run_name="zoo_plain")
    failures = []
    for model_type in model_types:
        try:
            model = plain["build"](model_type, class_name, *settings)
            break
        except Exception as error:  # noqa: BLE001 - any failure to build is the model's limit
            failures.append(one_line(error))
    else:
        return {"result": "does-not-build", "stage": "build", "reason": failures[0]}, model_types[0]
    try:
        with torch.device("meta"):
            plain["modify"](model)
            if "check" in plain:  # a kind's own test that the change applies as written
                plain["check"](model)
    except Exception as error:  # noqa: BLE001
        if type(error).__name__ == "NotApplicableError":
            return {"result": "not-applicable", "stage": "modify", "reason": one_line(error)}, model_type
        return {"result": "script-error", "stage": "modify", "reason": located(error)}, model_type
    return {}, model_type


def run_mode(trace, roots, mode: str) -> dict:
    """Generate ``mode`` from the trace, verify it, and check it independently: the cell's result."""
    from archit_codemod.declaration import api, errors

    traced_model = trace.namespace["model"]
    stage = "generate"
    try:
        output = api.generate(trace, roots, suffix=SUFFIX, mode=mode)
        stage = "verify"
        api.verify(output, trace, roots)
        stage = "independent-check"
        difference = independent_check(output, traced_model)
    except errors.DeclarationError as error:
        return {"result": "refused", "stage": stage, "reason": one_line(error)}
    except errors.NothingModifiedError as error:
        difference = original_rebuilds(traced_model)
        if difference is None:
            return {"result": "pass", "stage": "", "reason": "nothing to declare: " + one_line(error)[:120]}
        return {"result": "fail", "stage": "nothing-to-declare", "reason": difference}
    except Exception as error:  # noqa: BLE001 - every other failure past the plain run is the codemod's
        return {"result": "fail", "stage": stage, "reason": located(error)}
    if difference:
        return {"result": "fail", "stage": stage, "reason": difference}
    return {"result": "pass", "stage": "", "reason": ""}


def run_kind(
    model_types: list[str],
    class_name: str,
    kind: str,
    modes: tuple[str, ...] = MODES,
    settings: tuple[str, ...] = (),
) -> list[dict]:
    """The cells of one architecture and one kind, one per mode (``{"mode", "result", "stage", "reason"}``).

    ``settings`` change the default config (``"num_hidden_layers=2"``), as the zoo scripts' extra arguments.
    """
    from archit_codemod.declaration import errors
    from archit_codemod.declaration.tracing import roots, tracer

    script = ZOO / KINDS[kind]
    settled, model_type = plain_run(script, model_types, class_name, settings)
    if not settled:
        try:
            trace = tracer.run_script(script, [model_type, class_name, *settings])
            found = roots.find_roots(trace, "model")
        except errors.DeclarationError as error:
            settled = {"result": "refused", "stage": "trace", "reason": one_line(error)}
        except Exception as error:  # noqa: BLE001
            settled = {"result": "fail", "stage": "trace", "reason": located(error)}
    cells = []
    for mode in modes:
        cell = settled or run_mode(trace, found, mode)
        cells.append({"model_type": model_type, "kind": kind, "mode": mode, **cell})
    return cells
