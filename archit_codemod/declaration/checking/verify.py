"""Check that generated classes rebuild the traced model: same module tree, same parameters and buffers.

The generated source is imported on its own, in a fresh module that is registered in ``sys.modules``
only while it is imported (dataclasses need that) and removed afterwards. Each root's generated class is
built on the ``meta`` device, so no weights are allocated whatever the model's size.

Classes are compared faithfully, not by name: an imported class must be the traced class itself, a
generated class must subclass it, a class copied from the script must have the same bases and the same
code, and a parametrized module (weight norm) compares by the class it parametrizes. Beyond the tree, what
:mod:`archit_codemod.declaration.checking.compare` records must match: dtypes, hooks, parametrizations, plain settings,
and which tensors are one (tied or shared) in either model. Where cheap, the generated root is also built on
the CPU, loaded with the traced weights and run (:mod:`archit_codemod.declaration.checking.functional`); the
:class:`Verdict` says, per root, why its outputs were not compared where they were not.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib
import inspect
import itertools
import sys
import tempfile
import textwrap
import types
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from archit_codemod.declaration.checking.compare import (
    Difference,
    differences,
    is_parametrized_class,
    path_and_ancestors,
    snapshot,
)
from archit_codemod.declaration.checking.completeness import rebuilt_argument
from archit_codemod.declaration.checking.functional import (
    ComparedOutputs,
    build_on_cpu,
    check_outputs,
    quiet,
    short_error,
    skip_reason,
)
from archit_codemod.declaration.checking.loading import (
    OUTPUT_PACKAGE_PREFIX,
    OtherTensorsOnMetaError,
    check_loading,
    loading_path,
)
from archit_codemod.declaration.emitting.output import GeneratedFile, Output
from archit_codemod.declaration.errors import DeclarationError, ReplayError, VerificationError
from archit_codemod.declaration.pretrained import is_pretrained_model
from archit_codemod.declaration.records import ForwardCall, Trace
from archit_codemod.declaration.sources.wrapped import reached_functions
from archit_codemod.declaration.stages import stage


@dataclass(frozen=True)
class Verdict:
    """What verification found: the first root the generated code does not rebuild (its differences), or that
    every root is rebuilt; and for each root whose outputs were not compared with the traced model's, why not."""

    failure: VerificationError | None = None
    """The first root the generated code does not rebuild, its differences (``failure.differences``) and its
    name (``failure.root_name``); ``None`` when every root is rebuilt."""
    refusal: ReplayError | None = None
    """A library call the generated class makes again fails (when built, or on ``meta``): what it calls is
    ``refusal.function``."""
    outputs_not_compared: Mapping[str, str] = field(default_factory=dict)
    """Root name -> the reason (its weights are on meta, it is too large to build again on the CPU...)."""
    fails_on_meta: tuple[str, ...] = ()
    """The roots whose generated class builds on the CPU but not on ``meta``, where ``from_pretrained`` builds."""

    loading_not_checked: Mapping[str, str] = field(default_factory=dict)
    """Root name -> why the path users load it by (``from_pretrained``) was not checked, for a root that has one:
    the reason its outputs were not compared, or what its library cannot save or load."""

    def notes(self) -> tuple[str, ...]:
        """One line per such root, for the user."""
        notes = []
        for root, reason in self.outputs_not_compared.items():
            loading = (
                ", and its loading through from_pretrained was not checked"
                if root in self.loading_not_checked
                else ""
            )
            notes.append(
                f"{root}: the generated code was checked structurally (modules, tensors, ties, hooks, settings, "
                f"instance state), but its outputs were not compared with the traced model's{loading}: {reason}."
            )
        for root, reason in self.loading_not_checked.items():
            if root not in self.outputs_not_compared:
                notes.append(
                    f"{root}: the generated code gives the traced model's outputs, but loading it through "
                    f"from_pretrained was not checked: {reason}."
                )
        return tuple(notes)


_counter = itertools.count()


class LoadedOutput:
    """The generated files imported as one package, under a fresh name so that nothing clashes."""

    def __init__(self, name: str):
        self.name = name

    def module(self, stem: str) -> types.ModuleType:
        return importlib.import_module(f"{self.name}.{stem}")


@contextlib.contextmanager
def load_output(output: Output, directory: Path | None = None) -> Iterator[LoadedOutput]:
    """Import ``output``'s files as a package (written to ``directory``, a temporary folder by default).

    The package is imported as its users will import it: from its own folder, with nothing of the traced
    script's folder on ``sys.path``. The package and its modules leave ``sys.modules`` afterwards.
    """
    with contextlib.ExitStack() as stack:
        if directory is None:
            directory = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="archit_codemod_output_"))
            )
            for file in output.files:
                (directory / file.name).write_text(file.text, encoding="utf-8")
        name = f"{OUTPUT_PACKAGE_PREFIX}{next(_counter)}"
        package = types.ModuleType(name)
        package.__path__ = [str(directory)]
        package.__package__ = name
        sys.modules[name] = package
        try:
            yield LoadedOutput(name)
        finally:
            for module_name in [n for n in sys.modules if n == name or n.startswith(name + ".")]:
                del sys.modules[module_name]


@contextlib.contextmanager
def load_generated(source: str) -> Iterator[types.ModuleType]:
    """Import one generated module's ``source`` on its own; yields the module."""
    with load_output(Output("subclass", (GeneratedFile("generated.py", source),), {})) as package:
        yield package.module("generated")


def build_root(namespace: Any, class_name: str, root: nn.Module, trace: Trace | None) -> nn.Module:
    """Build ``class_name`` from the generated module like ``root`` was built (its recorded call or config)."""
    cls = getattr(namespace, class_name)
    call = trace.call_of(root) if trace is not None else None
    if call is not None:
        # Modules among the arguments are built again as they were built: the traced ones must stay untouched
        # (a generated class may change the modules it receives, as a replayed library call does).
        memo: dict[int, nn.Module] = {}
        args = tuple(rebuilt_argument(value, trace, memo) for value in call.args)
        kwargs = {key: rebuilt_argument(value, trace, memo) for key, value in call.kwargs.items()}
        return cls(*args, **kwargs)
    config = getattr(root, "config", None)
    if config is None:
        raise VerificationError(
            f"Cannot build {class_name}: the traced {type(root).__qualname__} has no recorded constructor call "
            "and no config. Fix: build the model inside the traced script."
        )
    return cls(config)


def compare_trees(
    built: nn.Module, traced: nn.Module, *, original_of: dict[str, type], script_module_name: str
) -> list[str]:
    """The differences between the generated and the traced model, sorted (empty when they are the same).

    Everything :mod:`archit_codemod.declaration.checking.compare` records is compared: module tree and classes,
    parameter and buffer names, shapes and dtypes, hooks, parametrizations, plain settings, and which tensors
    are one (ties, both ways).
    """

    found = _differences(built, traced, original_of, script_module_name)
    return sorted(difference.describe(expected_as="traced", got_as="generated") for difference in found)


def _differences(
    built: nn.Module, traced: nn.Module, original_of: dict[str, type], script_module_name: str
) -> list[Difference]:
    answers: dict[tuple[type, type], bool] = {}

    def same(expected: type, got: type) -> bool:
        # One answer per pair of classes: a script class copied into every layer is compared once, not per layer.
        if (expected, got) not in answers:
            answers[expected, got] = _same_class(got, expected, original_of, script_module_name)
        return answers[expected, got]

    traced_snapshot = snapshot(traced, lambda module: module == script_module_name)
    built_snapshot = snapshot(
        built, lambda module: module.startswith(OUTPUT_PACKAGE_PREFIX), _copied_modules(built, original_of)
    )
    return differences(traced_snapshot, built_snapshot, same_class=same)


def _copied_modules(built: nn.Module, original_of: dict[str, type]) -> dict[str, str]:
    """Generated module name -> the module it copies: one that defines a class of ``built`` under the name of the
    class it declares (a vendored file's unchanged class) copies that class's module."""
    found = {}
    for module in built.modules():
        cls = type(module)
        original = original_of.get(cls.__name__)
        if (
            cls.__module__.startswith(OUTPUT_PACKAGE_PREFIX)
            and original is not None
            and original.__name__ == cls.__name__
        ):
            found.setdefault(cls.__module__, original.__module__)
    return found


def require_same_tree(
    built: nn.Module,
    traced: nn.Module,
    failure: str,
    *,
    original_of: dict[str, type],
    script_module_name: str,
) -> None:
    """Raise :class:`VerificationError` starting with ``failure`` and listing the first differing paths."""
    found = _differences(built, traced, original_of, script_module_name)
    if found:
        lines = sorted(difference.describe(expected_as="traced", got_as="generated") for difference in found)
        shown = "\n  ".join(lines[:10])
        more = f"\n  ... and {len(lines) - 10} more" if len(lines) > 10 else ""
        fix = _TIES_FIX if any(difference.kind == "sharing" for difference in found) else ""
        raise VerificationError(f"{failure}:\n  {shown}{more}{fix}", tuple(found))


_TIES_FIX = (
    "\nFix: the generated classes tie weights as the model's classes do, from the config. Make the traced model "
    "agree: set model.config.tie_word_embeddings = False in the script when a replaced output layer keeps "
    "weights of its own, or call model.tie_weights() after the replacement to share them."
)


def verify_root(
    build: Callable[[], nn.Module],
    traced: nn.Module,
    shown: str,
    root_name: str,
    *,
    original_of: dict[str, type],
    script_module_name: str,
    arguments: tuple[Any, ...] = (),
    called_with: ForwardCall | None = None,
) -> RootVerified:
    """Check that ``build()`` (the generated root class, called as the traced root was built) rebuilds ``traced``;
    return why its outputs were not compared, or the CPU build and what its outputs were compared on.

    Where :func:`~archit_codemod.declaration.checking.functional.skip_reason` allows (``arguments`` are the root's
    constructor arguments), the root is built on the CPU: the module trees must compare equal
    (:func:`compare_trees`) and the functional check of :mod:`archit_codemod.declaration.checking.functional` runs.
    A larger model is built on ``meta`` and its module tree compared.

    Raises:
        VerificationError: the build fails, or the first differences (the message starts with ``shown``, the
            class as the user sees it, and ``root_name``).
        DeclarationError: the model is too large to build on the CPU and fails to build on meta.
    """
    failure = f"{shown} does not rebuild the traced model {root_name!r}"
    same_tree = functools.partial(
        require_same_tree, traced=traced, failure=failure, original_of=original_of,
        script_module_name=script_module_name,
    )  # fmt: skip
    too_large = skip_reason(traced, arguments)
    if too_large is None:
        # A model small enough to build on the CPU is compared as built there: some modules cannot be built on
        # meta (torch's quantized ones), others build differently there (a parametrization that computes).
        on_cpu = build_on_cpu(build, failure)
        same_tree(on_cpu)
        compared = check_outputs(on_cpu, traced, failure, called_with)
        if compared.not_compared is not None:
            return RootVerified(compared.not_compared)
        return RootVerified(None, on_cpu, compared)
    try:
        with torch.device("meta"):
            built = build()
    except VerificationError:
        raise
    except Exception as error:
        raise DeclarationError(
            f"{failure}: it cannot be checked: it fails to build on the meta device ({short_error(error)}), and "
            f"{too_large}, so it is not built on the CPU either. Fix: when the error comes from a module of your "
            "script, give it what the model's code reads from the module it replaces (transformers' _init_weights "
            "and forward read attributes such as .weight); when it comes from a library call that cannot run on "
            "meta, run the script with a smaller config on the CPU, or make the change after loading the model."
        ) from error
    same_tree(built)
    return RootVerified(too_large)


@dataclass(frozen=True)
class RootVerified:
    """What :func:`verify_root` found for a root it rebuilt."""

    not_compared: str | None
    """Why its outputs were not compared with the traced model's; ``None`` when they were."""
    built: nn.Module | None = None
    """The generated root built on the CPU, holding the traced weights (when the outputs were compared)."""
    compared: ComparedOutputs | None = None
    """The inputs and the traced outputs compared (when they were)."""


def _problem_on_meta(build: Callable[[], nn.Module], shown: str, output: Output) -> ReplayError | str | None:
    """transformers' ``from_pretrained`` builds a model on ``meta`` first: the refusal when a library call the
    generated class makes again fails there (that call is better made after loading), the warning when something
    else fails there, ``None`` when it builds."""
    try:
        with torch.device("meta"), quiet():
            build()
    except Exception as error:
        refusal = _replay_refusal(
            shown, error, output, " on the meta device, where from_pretrained builds models,"
        )
        if refusal is not None:
            return refusal
        return (
            f"{shown} rebuilds the model when built with its constructor, but it fails to build on the meta "
            f"device, where transformers' from_pretrained builds models ({short_error(error)}). Build it with "
            f"{shown.rpartition('.')[2]}(config) and load the weights with load_state_dict instead of "
            "from_pretrained."
        )
    return None


def constructor_arguments(root: nn.Module, trace: Trace | None) -> tuple[Any, ...]:
    """The arguments of ``root``'s recorded constructor call (empty without one)."""
    call = trace.call_of(root) if trace is not None else None
    return (*call.args, *call.kwargs.values()) if call is not None else ()


def verify(output: Output, trace: Trace | None, roots: dict[str, nn.Module]) -> Verdict:
    """Import ``output`` as a package and check that each root class rebuilds its traced root.

    The checks are :func:`verify_root`'s, the same in both modes, then, where the outputs were compared, the
    loading path users take (:mod:`~archit_codemod.declaration.checking.loading`). The :class:`Verdict` holds the
    first root that is not rebuilt, with its differences, a library call made again that fails, and which roots'
    outputs were not compared, or their loading not checked, and why.
    """
    script_module_name = trace.script_module_name if trace is not None else "__main__"
    not_compared: dict[str, str] = {}
    not_loaded: dict[str, str] = {}
    fails_on_meta: list[str] = []
    with stage("verifying"), load_output(output) as package:
        try:
            original_of = _original_classes(output, package, roots)
            modules = {stem: package.module(stem) for stem, _ in output.roots.values()}
        except Exception as error:
            failure = VerificationError(
                f"The generated code fails to import: {type(error).__name__}: {error}"
            )
            failure.__cause__ = error
            return Verdict(failure)
        for root_name, (stem, class_name) in output.roots.items():
            root = roots[root_name]
            shown = class_name if output.mode == "subclass" else f"{stem}.{class_name}"
            build = functools.partial(build_root, modules[stem], class_name, root, trace)
            arguments = constructor_arguments(root, trace)
            try:
                verified = verify_root(
                    build,
                    root,
                    shown,
                    root_name,
                    original_of=original_of,
                    script_module_name=script_module_name,
                    arguments=arguments,
                    called_with=trace.forward_calls.get(root) if trace is not None else None,
                )
            except VerificationError as failure:
                # A build that fails inside a library call the generated class makes again is a refusal, and so is
                # a call that, made again, leaves other modules than the script's call left.
                refusal = _replay_refusal(shown, failure.__cause__, output) or _replay_built_otherwise(
                    shown, failure, output
                )
                if refusal is not None:
                    return Verdict(refusal=refusal)
                failure.root_name = root_name
                return Verdict(failure)
            if verified.not_compared is not None:
                not_compared[root_name] = verified.not_compared
            problem = None
            if is_pretrained_model(root) and skip_reason(root, arguments) is None:
                problem = _problem_on_meta(build, shown, output)
                if isinstance(problem, ReplayError):
                    return Verdict(refusal=problem)
                if problem is not None:
                    warnings.warn(problem, stacklevel=2)
                    fails_on_meta.append(root_name)
            if loading_path(root) is None:
                continue
            if verified.not_compared is not None:
                not_loaded[root_name] = verified.not_compared
            elif problem is not None:
                not_loaded[root_name] = (
                    "it fails to build on the meta device, where from_pretrained builds models"
                )
            else:
                try:
                    reason = check_loading(
                        verified.built,
                        root,
                        verified.compared,
                        output,
                        class_name,
                        f"{shown} does not rebuild the traced model {root_name!r}",
                    )
                except OtherTensorsOnMetaError as other:
                    refusal = _other_tensors_on_meta(shown, other, output)
                    if refusal is None:
                        other.root_name = root_name
                        return Verdict(other)
                    return Verdict(refusal=refusal)
                except VerificationError as failure:
                    # transformers' from_pretrained builds in its own way (4.57: accelerate's empty-weights patch of
                    # register_parameter): a library call made again that fails there is a refusal, as on meta.
                    refusal = _replay_refusal(
                        shown,
                        failure.__cause__,
                        output,
                        " in from_pretrained, where transformers builds models,",
                    )
                    if refusal is not None:
                        return Verdict(refusal=refusal)
                    failure.root_name = root_name
                    return Verdict(failure)
                if reason is not None:
                    not_loaded[root_name] = reason
    return Verdict(
        outputs_not_compared=not_compared,
        loading_not_checked=not_loaded,
        fails_on_meta=tuple(fails_on_meta),
    )


def _other_tensors_on_meta(shown: str, other: OtherTensorsOnMetaError, output: Output) -> ReplayError | None:
    """The refusal when the tensors that differ on ``meta`` are under the targets of a library call the generated
    class makes again (that call builds other tensors where ``from_pretrained`` builds models); else ``None``."""
    reached = {path for key in other.keys for path in path_and_ancestors(key)}
    for function, targets in output.replays.items():
        touched = [target for target in targets if target in reached]
        if touched:
            return ReplayError(
                f"{_cannot_be_made_again(shown, function, touched)} builds other tensors on the meta device, where "
                f"from_pretrained builds models, than on the CPU ({_few(other.keys)}), so the model loaded with "
                "from_pretrained differs. Fix: apply this change after loading the model, in your own code (the "
                "checkpoint does not hold it).",
                function,
            )
    return None


def _cannot_be_made_again(shown: str, function: Callable[..., Any], targets: Sequence[str]) -> str:
    """The start of each refusal of a library call made again: the class, the call and the modules it changes."""
    received = f" (on {_few([target or '<root>' for target in targets])})" if targets else ""
    return (
        f"{shown}: the library call the script made cannot be made again in a generated class: "
        f"`{getattr(function, '__qualname__', function)}(...)`{received}"
    )


def _few(names: Sequence[str]) -> str:
    return ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")


def _replay_refusal(
    shown: str, error: BaseException | None, output: Output, where: str = ""
) -> ReplayError | None:
    """The refusal when ``error`` was raised inside a library call the generated class makes again; else ``None``."""
    function = _failed_replay(error, output) if error is not None else None
    if function is None:
        return None
    return ReplayError(
        f"{_cannot_be_made_again(shown, function, output.replays.get(function, ()))}{where} raises {short_error(error)} Fix: apply this change after building the model, in "
        "your own code (the checkpoint does not hold it), or use a form of the library that changes the model in "
        "place.",
        function,
    )


_STRUCTURE = frozenset({"module", "class", "parameter", "buffer"})


def _replay_built_otherwise(shown: str, failure: VerificationError, output: Output) -> ReplayError | None:
    """The refusal when every difference ``failure`` found is a module, a class or a tensor under what one library
    call the generated class makes again changed: the call depends on the model's mode or values, not only on its
    structure (torchvision's ``fuse_model()`` fuses a convolution, its norm and activation into other modules in
    training mode, where a generated ``__init__`` runs, than in eval mode); else ``None``."""
    found = failure.differences
    if not found or any(difference.kind not in _STRUCTURE for difference in found):
        return None
    for function, targets in output.replays.items():
        under = set(targets)
        if all(any(path in under for path in path_and_ancestors(difference.path)) for difference in found):
            first = found[0].describe(expected_as="traced", got_as="generated")
            return ReplayError(
                f"{_cannot_be_made_again(shown, function, targets)} leaves other modules when the class makes it than the script's call left ({first}, {len(found)} in all). Fix: "
                "apply this change after building the model, in your own code, in the mode the script made it.",
                function,
            )
    return None


def _failed_replay(error: BaseException, output: Output) -> Callable[..., Any] | None:
    """The library function a generated class calls to make a recorded call again that ``error``'s traceback passes
    through (recognised by its code, or a code of a function it wraps), if any."""
    codes = {
        code: function
        for function in output.replays
        for reached in reached_functions(function)
        if (code := getattr(reached, "__code__", None)) is not None
    }
    traceback_ = error.__traceback__
    while traceback_ is not None:
        function = codes.get(traceback_.tb_frame.f_code)
        if function is not None:
            return function
        traceback_ = traceback_.tb_next
    return None


def _original_classes(output: Output, package: LoadedOutput, roots: dict[str, nn.Module]) -> dict[str, type]:
    """Class name in the output -> the class it declares: the generated classes, the classes copied from modules
    beside the script, and in a vendored file every class of the same name as a class of its original module that
    the traced models use (a copy, renamed or not).

    The originals are taken from the traced models rather than imported: while verifying, a module beside the
    script is not importable, as for the output's users.
    """
    traced_classes = {type(module) for root in roots.values() for module in root.modules()}
    found: dict[str, type] = {}
    for file in output.files:
        if file.original_label is None:
            continue
        module = package.module(file.module)
        original_module = file.original_label.removesuffix(".py").replace("/", ".")
        originals = {cls.__name__: cls for cls in traced_classes if cls.__module__ == original_module}
        for name, value in vars(module).items():
            if inspect.isclass(value) and value.__module__ == module.__name__ and name in originals:
                found[name] = originals[name]
    for name, (original, _) in output.classes.items():
        found[name] = original
    found.update(output.copied_classes)
    return found


def _name(module: nn.Module) -> str:
    return type(module).__qualname__


def _same_class(got: type, expected: type, original_of: dict[str, type], script_module_name: str) -> bool:
    """Whether ``got`` (built by the generated module) is a faithful declaration of ``expected`` (traced).

    An imported class must be the very same class; a generated class must subclass exactly the traced class;
    a class copied from the script is a new class object, so it must have the same qualified name, equal
    bases and the same code (see :func:`_same_script_class`). A parametrized module (weight norm) gets a
    fresh ``Parametrized<Name>`` class per instance: those compare by the class they parametrize.
    """
    if got is expected:
        return True
    if original_of.get(got.__qualname__) is expected:
        return True
    if is_parametrized_class(got) and is_parametrized_class(expected):
        return _same_class(got.__bases__[0], expected.__bases__[0], original_of, script_module_name)
    if expected.__module__ == script_module_name and got.__qualname__ == expected.__qualname__:
        return _same_script_class(got, expected, original_of, script_module_name)
    return False


def _same_script_class(
    got: type, expected: type, original_of: dict[str, type], script_module_name: str
) -> bool:
    """A copy of a script class: same bases and, for each function of the class, the same code."""
    if len(got.__bases__) != len(expected.__bases__):
        return False
    if not all(
        _same_class(a, b, original_of, script_module_name)
        for a, b in zip(got.__bases__, expected.__bases__, strict=True)
    ):
        return False
    got_functions = {k: v for k, v in vars(got).items() if inspect.isfunction(v)}
    expected_functions = {k: v for k, v in vars(expected).items() if inspect.isfunction(v)}
    if got_functions.keys() != expected_functions.keys():
        return False
    return all(_same_function(got_functions[k], expected_functions[k]) for k in got_functions)


def _same_function(got: types.FunctionType, expected: types.FunctionType) -> bool:
    """Same source (as syntax trees, so indentation and position do not matter), else the same code.

    Bytecode alone is not compared: the compiler emits different instructions for one source depending on
    how a global was bound (an ``import`` or a star import).
    """
    trees = [_syntax_tree(function) for function in (got, expected)]
    if None not in trees:
        return trees[0] == trees[1]
    return _code_fingerprint(got.__code__) == _code_fingerprint(expected.__code__)


def _syntax_tree(function: types.FunctionType) -> str | None:
    try:
        source = textwrap.dedent(inspect.getsource(function))
        return ast.dump(ast.parse(source))
    except (OSError, TypeError, SyntaxError):
        return None


def _code_fingerprint(code: types.CodeType) -> tuple:
    """What a function's code does, without where it was written (file name and line numbers differ)."""
    constants = tuple(
        _code_fingerprint(c) if isinstance(c, types.CodeType) else (type(c).__name__, repr(c))
        for c in code.co_consts
    )
    return (code.co_names, code.co_varnames, constants)
