"""Helpers for the tests of ``examples/``: run an example, find its golden file, load and check the result.

Each example script builds a model, modifies it in place and leaves it in the global ``model``. The tests
run the codemod on it twice: through the command line's ``main`` with a user's arguments (in this process: one
README command keeps a real subprocess) and through the API on a traced run of the script, then execute the
generated code against the traced model.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import transformers
from golden_files import GOLDEN_DIR, golden_for
from golden_files import write_golden as write_golden_file
from torch import nn

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = REPO_ROOT / "examples"
SUFFIX = "Modified"


@dataclass(frozen=True)
class Example:
    """One script of ``examples/`` and how the tests run it."""

    stem: str
    cli_args: tuple[str, ...] = ()
    """Arguments for the command-line run whose output is compared with the golden file."""
    run_args: tuple[str, ...] = ()
    """Arguments for the in-process run that is executed with real weights (must not build on ``meta``)."""

    @property
    def script(self) -> Path:
        return EXAMPLES_DIR / f"{self.stem}.py"

    @property
    def relative_script(self) -> str:
        return f"examples/{self.stem}.py"


EXAMPLES = {
    example.stem: example
    for example in [
        Example("roberta_word_embeddings"),
        Example("bert_lora"),
        Example("roberta_swap_layer"),
        Example("bert_pooler_none"),
        Example("llama_layernorm"),
        Example("gpt2_linear"),
        Example("plain_torch_network"),
        # The command line runs the benchmark's Llama-7B on meta; the execution test a tiny one on CPU.
        Example("llama_7b_meta", run_args=("--size", "tiny", "--device", "cpu")),
    ]
}


# --- golden files ---------------------------------------------------------------------------------


def golden_path(stem: str) -> Path:
    """The golden file the installed transformers release compares with (see ``golden_files``)."""
    return golden_for(GOLDEN_DIR / stem / "subclass.py")


def write_golden(stem: str, source: str) -> Path:
    """Store ``source`` as the golden output of ``stem`` for the installed transformers release."""
    return write_golden_file(
        GOLDEN_DIR / stem / "subclass.py",
        lambda path: path.write_text(source, encoding="utf-8"),
        lambda path: path.exists() and path.read_text(encoding="utf-8") == source,
    )


def code_without_header(source: str) -> str:
    """The module's code as an AST dump, without comments and without a leading docstring.

    The command line's header names the script, the API's names the model; the code must be the same.
    """
    module = ast.parse(source)
    body = module.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return ast.dump(ast.Module(body=body, type_ignores=[]))


# --- running the codemod --------------------------------------------------------------------------


def run_codemod_cli(*arguments: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``python -m archit_codemod ARGUMENTS`` from the repository root, as the README shows it."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "archit_codemod", *arguments],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_codemod_in_process(*arguments: str) -> tuple[int, str]:
    """``python -m archit_codemod ARGUMENTS`` from the repository root, run by the command line's ``main`` in this
    process (no interpreter to start, torch and transformers imported once); returns the exit code and stderr."""
    from archit_codemod.cli import main

    stderr = io.StringIO()
    previous = Path.cwd()
    os.chdir(REPO_ROOT)
    try:
        with contextlib.redirect_stderr(stderr):
            code = main(list(arguments))
    finally:
        os.chdir(previous)
    return code, stderr.getvalue()


def describe(process: subprocess.CompletedProcess[str]) -> str:
    """A failure message with everything needed to reproduce and understand a command-line run."""
    return (
        f"command: {' '.join(map(str, process.args))}\nexit code: {process.returncode}\n"
        f"--- stderr ---\n{process.stderr[-6000:]}\n--- stdout ---\n{process.stdout[-3000:]}"
    )


@dataclass
class TracedExample:
    """One in-process run of an example under the tracer."""

    model: nn.Module
    namespace: dict[str, Any]
    trace: Any  # archit_codemod.declaration.records.Trace


def trace_example(example: Example) -> TracedExample:
    """Run the example's script in this process under the tracer, as the command line does."""
    from archit_codemod.declaration.tracing.tracer import run_script

    recorded = run_script(example.script, example.run_args)
    model = recorded.namespace["model"]
    model.eval()
    return TracedExample(model=model, namespace=recorded.namespace, trace=recorded)


# --- executing the generated code -----------------------------------------------------------------


@functools.cache
def traced(stem: str) -> TracedExample:
    """The in-process traced run of an example, once per test process."""
    return trace_example(EXAMPLES[stem])


@functools.cache
def declared_output(stem: str, mode: str) -> Any:  # archit_codemod.declaration.api.Output
    """What the API generates in ``mode`` for the traced run of an example (verified, as by default)."""
    from archit_codemod.declaration.api import generate, verify

    run = traced(stem)
    roots = {"model": run.model}
    output = generate(run.trace, roots, suffix=SUFFIX, mode=mode)
    verify(output, run.trace, roots)
    return output


def declared(stem: str) -> str:
    """The subclass module the API declares for the traced run of an example."""
    return declared_output(stem, "subclass").source


def declared_classes(stem: str, mode: str) -> dict[str, ast.ClassDef]:
    """The module-level classes of every file generated in ``mode``, by name."""
    classes: dict[str, ast.ClassDef] = {}
    for file in declared_output(stem, mode).files:
        for name, node in class_defs(file.text).items():
            assert name not in classes, f"class {name} is defined in two files"
            classes[name] = node
    return classes


class GeneratedModules:
    """The code generated in one mode for each example, imported as a package (as its users import it) and kept
    imported until :meth:`close`."""

    def __init__(self, mode: str) -> None:
        from archit_codemod.declaration.checking.verify import load_output

        self.mode = mode
        self._load_output = load_output
        self._stack = contextlib.ExitStack()
        self._packages: dict[str, Any] = {}

    def root_class(self, stem: str) -> type[nn.Module]:
        output = declared_output(stem, self.mode)
        if stem not in self._packages:
            self._packages[stem] = self._stack.enter_context(self._load_output(output))
        module, class_name = output.roots["model"]
        assert class_name == type(traced(stem).model).__name__ + SUFFIX
        return getattr(self._packages[stem].module(module), class_name)

    def rebuilt(self, stem: str) -> nn.Module:
        """The generated root class, built like the traced model, with the traced weights loaded strictly."""
        run = traced(stem)
        model = build_like(self.root_class(stem), run)
        model.load_state_dict(run.model.state_dict(), strict=True)
        return model.eval()

    def close(self) -> None:
        self._stack.close()


def build_like(root_class: type[nn.Module], traced: TracedExample) -> nn.Module:
    """Build ``root_class`` with real (random) weights, the way the traced root model was built."""
    torch.manual_seed(1)
    if isinstance(traced.model, transformers.PreTrainedModel):
        return root_class(traced.model.config)
    call = traced.trace.call_of(traced.model)
    assert call is not None, "the tracer recorded no constructor call for the root model"
    return root_class(*call.args, **call.kwargs)


def example_inputs(model: nn.Module) -> dict[str, torch.Tensor]:
    """A small batch for ``model``: token ids with a padded second row, or a float batch for plain networks."""
    generator = torch.Generator().manual_seed(2)
    if isinstance(model, transformers.PreTrainedModel):
        input_ids = torch.randint(3, model.config.vocab_size, (2, 7), generator=generator)
        attention_mask = torch.ones_like(input_ids)
        attention_mask[1, -2:] = 0
        return {"input_ids": input_ids, "attention_mask": attention_mask}
    first_linear = next(module for module in model.modules() if isinstance(module, nn.Linear))
    return {"x": torch.randn(2, first_linear.in_features, generator=generator)}


def main_outputs(output: Any) -> dict[str, torch.Tensor | None]:
    """The tensors worth comparing in a model output (caches and the like are left out)."""
    if isinstance(output, torch.Tensor):
        return {"output": output}
    names = ("logits", "last_hidden_state", "pooler_output")
    return {name: getattr(output, name) for name in names if hasattr(output, name)}


def module_classes(model: nn.Module) -> dict[str, str]:
    """``{path: class name}`` of every submodule, the root included (path ``""``)."""
    return {path: type(module).__name__ for path, module in model.named_modules(remove_duplicate=False)}


# --- reading the generated code -------------------------------------------------------------------


def class_defs(source: str) -> dict[str, ast.ClassDef]:
    """The module-level classes of ``source`` by name (a duplicate name fails: one class each)."""
    classes: dict[str, ast.ClassDef] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.ClassDef):
            assert node.name not in classes, f"class {node.name} is defined twice"
            classes[node.name] = node
    return classes


def init_assignments(class_def: ast.ClassDef) -> dict[str, list[ast.expr]]:
    """``{attribute: [values]}`` of the ``self.attribute = value`` statements of ``class_def.__init__``."""
    init = next(
        node for node in class_def.body if isinstance(node, ast.FunctionDef) and node.name == "__init__"
    )
    assignments: dict[str, list[ast.expr]] = {}
    for node in ast.walk(init):
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
                if target.value.id == "self":
                    assignments.setdefault(target.attr, []).append(value)
    return assignments


def called_names(node: ast.AST) -> set[str]:
    """Names of everything called inside ``node`` (``nn.Linear(...)`` gives ``"nn.Linear"``)."""
    return {ast.unparse(call.func) for call in ast.walk(node) if isinstance(call, ast.Call)}


def unused_or_repeated_imports(source: str) -> list[str]:
    """Imported names that the module never uses, or imports more than once."""
    module = ast.parse(source)
    imported: list[str] = []
    for node in module.body:
        if isinstance(node, ast.Import):
            imported += [alias.asname or alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            imported += [alias.asname or alias.name for alias in node.names]
    used = {node.id for node in ast.walk(module) if isinstance(node, ast.Name)}
    # Names in string annotations ("config: 'RobertaConfig'") count as used too.
    for node in ast.walk(module):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
            used.add(node.value)
    problems = [f"{name} is imported but unused" for name in imported if name not in used]
    problems += [f"{name} is imported twice" for name in set(imported) if imported.count(name) > 1]
    return problems
