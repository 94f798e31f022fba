"""One run of the script form: argv -> :class:`RunOptions` -> the script traced -> the library's
:func:`~archit_codemod.delivery.write.write_traced` -> messages and an :class:`ExitStatus`.

Everything here is about the command line: which exception is which exit status, what goes to standard output
(the code or a patch) and what to standard error (the script's own prints, when the code goes to standard output;
status lines; messages), and which command the messages give as the fix.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
import warnings
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, TextIO

import archit_codemod
from archit_codemod.cli.checks import missing_check_output, output_problem, usage_problem
from archit_codemod.cli.console import Console
from archit_codemod.cli.exit_status import ExitStatus
from archit_codemod.cli.options import RunOptions
from archit_codemod.cli.parser import parse_run_options, usage

if TYPE_CHECKING:
    from torch import nn

    from archit_codemod.declaration.records import Trace
    from archit_codemod.delivery.deliver import Generated

__all__ = ["run_script_form"]


class _UnknownModelError(Exception):
    """``--model NAME`` names no module the script holds: a usage error (exit 2)."""


def run_script_form(arguments: Sequence[str]) -> int:
    """``archit-codemod [OPTIONS] SCRIPT [SCRIPT_ARGS...]``; the exit status (a script that ended itself passes
    its own through)."""
    try:
        options = parse_run_options(arguments)
    except SystemExit as stop:  # --help, --version, or a usage error argparse already reported
        return stop.code if isinstance(stop.code, int) else ExitStatus.ERROR
    console = Console(color=options.color, quiet=options.quiet)
    problem = usage_problem(options)
    if problem is not None:
        sys.stderr.write(usage())
        console.error(problem)
        return ExitStatus.ERROR
    problem = output_problem(options)
    if problem is not None:
        console.error(problem)
        return ExitStatus.ERROR
    missing = missing_check_output(options)
    if missing is not None:
        console.error(missing)
        return ExitStatus.FAILED
    return _generate_and_deliver(options, console)


def _generate_and_deliver(options: RunOptions, console: Console) -> int:
    from archit_codemod.declaration.errors import (
        DeclarationError,
        NothingModifiedError,
        ScriptError,
        ScriptExitedError,
        VerificationError,
    )
    from archit_codemod.declaration.stages import InternalError
    from archit_codemod.delivery.files import OutputError
    from archit_codemod.delivery.heap import collections_skip_what_exists
    from archit_codemod.delivery.write import write_traced

    try:
        # With code or a diff on standard output, keep the script's prints out of it.
        with (
            _script_output_to(sys.stderr if options.code_to_stdout else None),
            console.library_stages_as_status(),
        ):
            trace = _traced(options, console)
            with collections_skip_what_exists():
                roots = _roots(trace, options)
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    generated = write_traced(trace, roots, options.writing)
        _report_warnings(caught, console)
        return _report(generated, options, console)
    except ScriptExitedError as stop:
        return _script_exit_status(stop, options, console)
    except ScriptError as failure:
        message = str(failure)
        # A traceback or syntax error gets a heading; a one-line message (no such file...) is complete.
        console.error(f"{options.script} failed:\n{message}" if "\n" in message else message)
        return ExitStatus.ERROR
    except (NothingModifiedError, VerificationError) as failure:
        console.error(str(failure))
        return ExitStatus.FAILED
    except (DeclarationError, OutputError, _UnknownModelError) as failure:
        console.error(str(failure))
        return ExitStatus.ERROR
    except InternalError as failure:
        return _internal_error(failure, console)
    except OSError as failure:
        console.error(
            f"cannot write {options.writing.output}: {failure}. Fix: check the path and its permissions."
        )
        return ExitStatus.ERROR
    except Exception as failure:
        return _internal_error(failure, console)


def _traced(options: RunOptions, console: Console) -> Trace:
    # Imported here: the tracer pulls in torch, which --help does not need.
    from archit_codemod.declaration.stages import stage
    from archit_codemod.declaration.tracing.tracer import run_script

    console.status(f"running {options.script}")
    with stage("tracing"):
        return run_script(options.script, list(options.script_args))


def _roots(trace: Trace, options: RunOptions) -> dict[str, nn.Module]:
    """The root models to declare; a script that ended itself before modifying anything is not refused.

    Raises:
        ScriptExitedError: with status 0, when the script ended itself (its ``--help``) before modifying anything.
        _UnknownModelError: ``--model NAME`` names no module global of the script.
    """
    from torch import nn

    from archit_codemod.declaration.checking.completeness import roots_to_declare
    from archit_codemod.declaration.errors import NothingModifiedError, ScriptExitedError
    from archit_codemod.declaration.stages import stage

    ended_before_modifying = trace.exited and not trace.modifications
    if (
        options.model is not None
        and not ended_before_modifying
        and not isinstance(trace.namespace.get(options.model), nn.Module)
    ):
        found = sorted(name for name, value in trace.namespace.items() if isinstance(value, nn.Module))
        raise _UnknownModelError(
            f"--model {options.model}: the script has no global module named {options.model!r}. "
            f"Fix: give the name of one it defines ({', '.join(found) or 'it defines none'})."
        )
    try:
        with stage("checking"):
            return roots_to_declare(trace, options.model)
    except NothingModifiedError:
        if ended_before_modifying:
            raise ScriptExitedError(f"{options.script} exited before modifying a model", 0) from None
        raise


@contextlib.contextmanager
def _script_output_to(stream: TextIO | None) -> Iterator[None]:
    if stream is None:
        yield
    else:
        with contextlib.redirect_stdout(stream):
            yield


def _report_warnings(caught: list[warnings.WarningMessage], console: Console) -> None:
    """Show the codemod's warnings (e.g. a new attribute ``forward`` does not use) as the console's; others as
    Python shows them."""
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


def _report(generated: Generated, options: RunOptions, console: Console) -> ExitStatus:
    """The code, the patch or the check's verdict, printed; the exit status."""
    if generated.action == "check":
        return _report_check(generated, options, console)
    if generated.action == "diff":
        if options.writing.save_pretrained:
            console.info(
                "the checkpoint is not part of the patch: regenerate with --save-pretrained to save it"
            )
        _show_diff(generated.patch, console)
    elif generated.action == "diff-original":
        _show_diff(generated.patch, console)
    elif generated.written:
        console.info(f"wrote {options.writing.output}")
    else:
        sys.stdout.write(generated.source)
        sys.stdout.flush()
    return ExitStatus.DONE


def _report_check(generated: Generated, options: RunOptions, console: Console) -> ExitStatus:
    """``--check``: done when the output is what was generated (checkpoint included), else the patch and why."""
    if generated.up_to_date:
        console.info(f"{options.writing.output} is up to date")
        return ExitStatus.DONE
    _show_diff(generated.patch, console)
    if generated.stale:
        fix = (
            f"run {options.regenerate_with}"
            if options.regenerate_with is not None
            else ("regenerate with the same command without --check")
        )
        console.error(
            f"{', '.join(map(str, generated.stale))} {'differs' if len(generated.stale) == 1 else 'differ'} "
            f"from what {options.script} generates now (the script, its arguments or the installed libraries "
            f"changed, or the output was edited by hand). Fix: {fix}."
        )
    if generated.checkpoint_problems:
        fix = (
            f"run {options.regenerate_with}, with save-pretrained = true in the target"
            if options.regenerate_with is not None
            else "regenerate with the same command, with --save-pretrained and without --check"
        )
        console.error(
            "the checkpoint does not match:\n  "
            + "\n  ".join(generated.checkpoint_problems)
            + f"\nFix: {fix}."
        )
    return ExitStatus.FAILED


def _show_diff(diff: str, console: Console) -> None:
    from archit_codemod.declaration.diffing import colourize

    sys.stdout.write(colourize(diff) if console.colour_stdout() else diff)
    sys.stdout.flush()


def _internal_error(failure: Exception, console: Console) -> ExitStatus:
    """Report a bug of archit_codemod in one message (the traceback only with ARCHIT_CODEMOD_DEBUG=1)."""
    from archit_codemod.declaration.stages import DEBUG_VARIABLE, InternalError

    if not isinstance(failure, InternalError):
        failure = InternalError("declaring", None, failure)
    console.error(str(failure))
    if os.environ.get(DEBUG_VARIABLE) == "1":
        traceback.print_exception(failure, file=sys.stderr)
    return ExitStatus.ERROR


def _script_exit_status(stop: Exception, options: RunOptions, console: Console) -> int:
    """The script ended itself: its status is ours. A message status (``sys.exit("text")``) is printed and
    gives 1, as Python does."""
    status = getattr(stop, "status", 1)
    if status in (None, 0):
        return ExitStatus.DONE
    if isinstance(status, int):
        console.error(f"{options.script} exited with status {status}; nothing was generated")
        return status
    print(status, file=sys.stderr)
    console.error(f"{options.script} exited with status 1; nothing was generated")
    return 1  # the status Python exits with for sys.exit("message")
