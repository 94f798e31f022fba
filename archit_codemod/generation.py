"""One run of the command line up to the generated text: run the script, plan, verify. Nothing is written here.

The stages report themselves on the console (running the script, planning, verifying); writing is
:mod:`archit_codemod.delivery`'s.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import archit_codemod
from archit_codemod.terminal import Console

__all__ = ["Product", "generate"]


@dataclass
class Product:
    """What one run generated, before anything is written.

    ``files`` maps each output's name (a file name inside the vendor folder, or the subclass output) to its
    text; ``originals`` maps a vendored file's name to ``(label of the original, original text)``;
    ``original_of`` maps each generated class (subclass mode) to the class it subclasses; ``model`` is the
    single traced root model (for the checkpoint of a vendor folder), ``None`` when there are several.
    """

    files: dict[str, str]
    originals: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    original_of: dict[str, type] = field(default_factory=dict)
    save: Callable[[Path], None] | None = None
    model: Any = None


def output_folder(options: argparse.Namespace) -> Path | None:
    """The folder the generated module is imported from: the vendor folder, the output file's folder, or
    ``None`` for standard output (unknown)."""
    if options.output is None:
        return None
    output = Path(options.output).absolute()
    return output if options.mode == "vendor" else output.parent


def generate(options: argparse.Namespace, console: Console) -> Product:
    """Trace the script, generate and verify the code. Raises the declaration errors.

    Raises:
        ScriptExitedError: the script ended itself; with status 0 when it did so before modifying anything (its
            ``--help``), so there is nothing to declare and nothing to report.
        InternalError: a bug of archit_codemod; names the stage.
    """
    # Imported here: the tracer pulls in torch and the codemod LibCST, neither needed for --help.
    from archit_codemod.declaration import api
    from archit_codemod.declaration.provenance import Provenance
    from archit_codemod.declaration.stages import stage
    from archit_codemod.declaration.tracing.tracer import run_script

    console.status(f"running {options.script}")
    with stage("tracing"):
        trace = run_script(options.script, options.script_args)
    with _collections_skip_what_exists():
        console.status("planning")
        with stage("checking"):
            roots = _roots(trace, options)
        provenance = Provenance.for_output(Path(options.script), output_folder(options))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            generate_code = functools.partial(
                api.generate,
                trace,
                roots,
                suffix=options.suffix,
                mode=options.mode,
                prune=options.prune,
                provenance=provenance,
            )
            output = generate_code()
            if options.verify:
                with _verifying(options, console):
                    output = api.verified(
                        output, trace, roots, lambda settings: generate_code(settings_again=settings)
                    )
    _report_warnings(caught, output, console)
    return _product(output, roots, options)


@contextlib.contextmanager
def _collections_skip_what_exists() -> Iterator[None]:
    """Keep the garbage collector's full collections off the objects that exist now, until the block ends.

    After the script, the heap holds torch, transformers and the traced model: hundreds of thousands of objects
    that live on. The parsed sources and generated trees trigger full collections that would walk all of them
    again; frozen, they are skipped, and ``unfreeze`` hands them back to the collector afterwards.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _roots(trace: Any, options: argparse.Namespace) -> dict[str, Any]:
    """The root models to declare; a script that ended itself before modifying anything is not refused."""
    from archit_codemod.declaration.checking.completeness import roots_to_declare
    from archit_codemod.declaration.errors import NothingModifiedError, ScriptExitedError

    try:
        return roots_to_declare(trace, options.model)
    except NothingModifiedError:
        if trace.exited and not trace.modifications:
            raise ScriptExitedError(f"{options.script} exited before modifying a model", 0) from None
        raise


def _verifying(options: argparse.Namespace, console: Console) -> Any:
    """The import system as the generated file's users have it (see ``importability``)."""
    from archit_codemod.declaration.importability import imported_as_users_will

    console.status("verifying")
    imported_from = output_folder(options) if options.mode == "subclass" else None
    return imported_as_users_will(Path(options.script).absolute().parent, imported_from)


def _product(output: Any, roots: dict[str, Any], options: argparse.Namespace) -> Product:
    vendor = options.mode == "vendor"
    save = None
    if options.save_pretrained and not (options.diff or options.diff_original or options.check):
        # Run on the temporary folder the vendor folder is assembled in, before anything is replaced.
        save = functools.partial(_save_with_manifest, output, roots)
    return Product(
        files={file.name if vendor else (options.output or ""): file.text for file in output.files},
        originals={file.name: (file.original_label, file.original_text) for file in output.files},
        original_of={name: original for name, (original, _) in output.classes.items()},
        save=save,
        model=next(iter(roots.values())) if len(roots) == 1 else None,
    )


def _save_with_manifest(output: Any, roots: dict[str, Any], directory: Path) -> None:
    from archit_codemod.declaration.checkpoint import save_pretrained
    from archit_codemod.manifest import write_manifest

    save_pretrained(output, roots, directory)
    [root_name] = output.roots
    write_manifest(directory, roots[root_name])


def _report_warnings(caught: list[warnings.WarningMessage], generated: Any, console: Console) -> None:
    """Show the codemod's warnings (e.g. a new attribute ``forward`` does not use) on standard error."""
    package_dir = os.path.dirname(archit_codemod.__file__) + os.sep
    for warning in caught:
        if str(warning.filename).startswith(package_dir):
            console.warning(str(warning.message))
        else:
            print(
                warnings.formatwarning(
                    warning.message, warning.category, warning.filename, warning.lineno, warning.line
                ),
                end="",
                file=sys.stderr,
            )
    for message in getattr(generated, "warnings", None) or ():
        console.warning(message)
