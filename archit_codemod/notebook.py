"""The IPython extension: declare, from a notebook cell, the models the cell modifies.

::

    %load_ext archit_codemod

    %%declare -o models/declared.py
    model = BertModel(config)
    for layer in model.encoder.layer:
        layer.attention.self.query = LoRALinear(layer.attention.self.query)

The cell runs as any cell does (in the notebook's namespace, its names kept), under the tracer; then what it changed
is declared as ``archit-codemod`` declares a script's changes, with the command line's options, and the generated
code (or the patch) is shown as highlighted source. The codemod's warnings are Python warnings; its errors are
shown as one message naming the module path and the fix (the traceback of an internal error only with
``ARCHIT_CODEMOD_DEBUG=1``). An exception the cell's own code raises is shown as IPython shows it.

This module imports IPython, which the package does not depend on: ``archit_codemod`` imports it only when IPython
loads the extension.
"""

from __future__ import annotations

import argparse
import dataclasses
import html
import os
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic import Magics, cell_magic, magics_class
from IPython.display import Code, display

from archit_codemod.declaration.errors import DeclarationError, NothingModifiedError, VerificationError
from archit_codemod.declaration.records import Trace
from archit_codemod.declaration.stages import DEBUG_VARIABLE, InternalError
from archit_codemod.delivery.deliver import Generated
from archit_codemod.delivery.files import OutputError
from archit_codemod.delivery.options import MODES, WriteOptions, output_problem, usage_problem

__all__ = ["DeclareMagics", "load_ipython_extension", "magic_parser"]

_SHOWN_AS_MESSAGES = (
    DeclarationError,
    NothingModifiedError,
    VerificationError,
    OutputError,
    ValueError,
    OSError,
)
"""The codemod's own refusals and failures (and a usage error, a file that cannot be written): their messages are
written for the user, and the traceback through the magic's code would only hide them."""


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """Called by ``%load_ext archit_codemod``: registers the ``%%declare`` cell magic."""
    ipython.register_magics(DeclareMagics)


def magic_parser() -> argparse.ArgumentParser:
    """The options of ``%%declare``: the command line's, less what only a terminal needs (``-q``, ``--color``)."""
    parser = _MagicParser(
        prog="%%declare",
        description="Run the cell under the tracer, then declare the models it modified (as archit-codemod "
        "does for a script), and show the generated code or the patch.",
        add_help=False,
        allow_abbrev=False,
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="file (subclass mode) or folder (vendor mode) to write; without it, the code is only shown",
    )
    parser.add_argument("--mode", choices=MODES, default="subclass", help="default: %(default)s")
    parser.add_argument(
        "--suffix", metavar="NAME", default="Modified", help="appended to each generated class name"
    )
    parser.add_argument(
        "--model",
        metavar="NAME",
        help="the notebook variable holding the model; default: every modified model",
    )
    review = parser.add_mutually_exclusive_group()
    for flag, action, text in (
        ("--diff", "diff", "show the patch from what is at --output to the generated code; write nothing"),
        ("--diff-original", "diff-original", "show what changed against the original sources; write nothing"),
        (
            "--check",
            "check",
            "show whether --output (its checkpoint too) is what would be generated; write nothing",
        ),
    ):
        review.add_argument(flag, dest="action", action="store_const", const=action, help=text)
    parser.set_defaults(action="write")
    parser.add_argument(
        "--force", action="store_true", help="overwrite an output archit_codemod did not generate"
    )
    parser.add_argument(
        "--prune", action="store_true", help="vendor mode: leave out what the models do not use"
    )
    parser.add_argument(
        "--save-pretrained",
        action="store_true",
        help="vendor mode: also save the config and weights, loadable with trust_remote_code=True",
    )
    parser.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="skip checking that the code rebuilds the model",
    )
    return parser


class _MagicParser(argparse.ArgumentParser):
    """Options that do not parse are IPython's usage error (one line in the notebook), not an exit."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"%%declare: {message}. {self.format_usage().strip()}")


@magics_class
class DeclareMagics(Magics):
    """``%%declare [OPTIONS]``: trace the cell, then declare what it changed (see :func:`magic_parser`)."""

    @cell_magic
    def declare(self, line: str, cell: str) -> None:
        __tracebackhide__ = True  # an exception of the cell's code is shown from the cell on
        arguments = _parse(line)
        options = WriteOptions(
            output=Path(arguments.output) if arguments.output is not None else None,
            mode=arguments.mode,
            suffix=arguments.suffix,
            prune=arguments.prune,
            save_pretrained=arguments.save_pretrained,
            verify=arguments.verify,
            force=arguments.force,
            action=arguments.action,
        )
        # As the command line does before it runs the script: options that cannot work stop here, the cell unrun.
        problem = usage_problem(options)
        if problem is not None:
            raise UsageError(f"%%declare: {problem}")
        problem = output_problem(options)
        if problem is not None:
            _raise_as_message(OutputError(problem))
        traced = self._run_traced(cell)
        try:
            generated = _declared(traced, self._visible(traced), arguments.model, options)
        except _SHOWN_AS_MESSAGES as error:
            _raise_as_message(error)
        except InternalError as error:
            if os.environ.get(DEBUG_VARIABLE) == "1":
                raise
            _raise_as_message(error)
        _show(generated, options)

    def _run_traced(self, cell: str) -> Trace:
        """Run ``cell`` as IPython runs a cell (its magics and shell escapes transformed, its lines kept for
        tracebacks and for the codemod) in the notebook's namespace, under the tracer."""
        __tracebackhide__ = True
        from archit_codemod.declaration.tracing.tracer import trace_session

        shell = self.shell
        transformed = shell.transform_cell(cell)
        # The number IPython gave the running cell (its tracebacks say "Cell In[3]"); execution_count may have moved
        # on already.
        running = shell.displayhook.exec_result
        number = running.execution_count if running is not None else shell.execution_count
        filename = shell.compile.cache(transformed, number, raw_code=cell)
        code = shell.compile(transformed, filename, "exec")
        with trace_session(filename, shell.user_global_ns) as traced:
            exec(code, shell.user_global_ns, shell.user_ns)
        return traced

    def _visible(self, traced: Trace) -> Trace:
        """``traced`` with the notebook's own names only: not those IPython keeps (``_``, ``_3``: the outputs of
        earlier cells), which may hold a model too."""
        hidden = self.shell.user_ns_hidden
        namespace = {name: value for name, value in traced.namespace.items() if name not in hidden}
        return dataclasses.replace(traced, namespace=namespace)


def _parse(line: str) -> argparse.Namespace:
    try:
        words = shlex.split(line)
    except ValueError as error:  # an unclosed quote
        raise UsageError(f"%%declare {line}: {error}") from None
    return magic_parser().parse_args(words)


def _declared(traced: Trace, visible: Trace, model_name: str | None, options: WriteOptions) -> Generated:
    from archit_codemod.declaration.tracing.roots import find_roots
    from archit_codemod.delivery.write import write_traced

    roots = find_roots(visible, model_name)
    return write_traced(traced, roots, options)


def _raise_as_message(error: Exception) -> NoReturn:
    """Raise ``error`` so that IPython shows it as one message: ``DeclarationError: ...`` (a notebook shows an
    exception by its ``_render_traceback_`` when it has one)."""
    message = f"{type(error).__name__}: {error}"
    error._render_traceback_ = lambda: [message]  # type: ignore[attr-defined]
    raise error.with_traceback(None) from None


def _show(generated: Generated, options: WriteOptions) -> None:
    """The generated code, or the patch, as highlighted source; what was written, or whether it is up to date."""
    if generated.action == "check":
        if generated.up_to_date:
            print(f"{generated.output} is up to date.")
            return
        for problem in generated.checkpoint_problems:
            print(problem)
        if generated.stale:
            print(
                f"Out of date: {', '.join(str(path) for path in generated.stale)}. Run the cell without --check."
            )
    if generated.action != "write":
        if generated.patch:
            display(Code(generated.patch, language="diff"))
        elif generated.action == "diff":
            print(f"{generated.output} is what would be generated: no difference.")
        return
    if options.mode == "subclass":
        display(Code(generated.source, language="python"))
    else:
        display(_collapsed_files(generated.files), raw=True)
    for path in generated.written:
        print(f"wrote {path}")


def _collapsed_files(files: Mapping[str, str]) -> dict[str, Any]:
    """Each file of a vendored folder as highlighted source under its name, folded (copies of modeling files are
    long); in a terminal, only the names."""
    parts = [
        f"<details><summary><code>{html.escape(name)}</code></summary>{Code(text, language='python')._repr_html_()}"
        "</details>"
        for name, text in files.items()
    ]
    return {"text/html": "".join(parts), "text/plain": "\n".join(files)}
