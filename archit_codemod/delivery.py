"""What happens to the generated text: written, printed, shown as a patch, or checked against the output.

Nothing is written before this point, and only here: files atomically, a vendor folder all at once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from archit_codemod.generation import Product
from archit_codemod.terminal import Console
from archit_codemod.writing import is_generated, write_atomically, write_folder_atomically

__all__ = ["EXIT_DIFFERENT", "EXIT_OK", "deliver", "is_stream"]

EXIT_OK = 0
EXIT_DIFFERENT = 1


def is_stream(path: Path) -> bool:
    """An output that exists but is neither a file nor a folder (``/dev/null``, a FIFO): written to as it is,
    never read."""
    return path.exists() and not path.is_file() and not path.is_dir()


def _target(options: argparse.Namespace, name: str) -> Path:
    return Path(options.output) / name if options.mode == "vendor" else Path(options.output)


def _on_disk(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return None


def _patch_against_output(product: Product, options: argparse.Namespace) -> tuple[str, list[str]]:
    """The patch from the output on disk to what was generated, and the outputs it changes."""
    from archit_codemod.review import patch

    changes: list[tuple[Path, str | None, str | None]] = []
    for name, text in product.files.items():
        target = _target(options, name)
        current = _on_disk(target)
        if current != text:
            changes.append((target, current, text))
    if options.mode == "vendor" and Path(options.output).is_dir():
        # A generated module that would no longer be generated goes away.
        for path in sorted(Path(options.output).glob("*.py")):
            if path.name not in product.files and is_generated(path):
                changes.append((path, path.read_text(encoding="utf-8"), None))
    return patch(changes), [str(path) for path, _, _ in changes]


def _show_diff(diff: str, console: Console) -> None:
    from archit_codemod.declaration.diffing import colourize

    sys.stdout.write(colourize(diff) if console.colour_stdout() else diff)
    sys.stdout.flush()


def _checkpoint_problems(product: Product, options: argparse.Namespace) -> list[str]:
    if options.mode != "vendor" or product.model is None:
        return []
    from archit_codemod.manifest import checkpoint_problems

    folder = Path(options.output)
    return checkpoint_problems(folder, product.model, str(folder), required=options.save_pretrained)


def _check(product: Product, options: argparse.Namespace, console: Console) -> int:
    """``--check``: 0 when the output is what would be generated (checkpoint included), else 1 and the patch."""
    diff, stale = _patch_against_output(product, options)
    problems = _checkpoint_problems(product, options)
    if not stale and not problems:
        console.info(f"{options.output} is up to date")
        return EXIT_OK
    _show_diff(diff, console)
    if stale:
        console.error(
            f"{', '.join(stale)} {'differs' if len(stale) == 1 else 'differ'} from what {options.script} "
            "generates now (the script, its arguments or the installed libraries changed, or the output was "
            "edited by hand). Fix: regenerate with the same command without --check."
        )
    if problems:
        console.error(
            "the checkpoint does not match:\n  "
            + "\n  ".join(problems)
            + "\nFix: regenerate with the same command, with --save-pretrained and without --check."
        )
    return EXIT_DIFFERENT


def _diff_original(product: Product, options: argparse.Namespace) -> str:
    from archit_codemod.declaration.diffing import DEV_NULL, unified_diff
    from archit_codemod.review import original_class_diffs, patch_path

    if options.mode == "subclass":
        [text] = product.files.values()
        shown = patch_path(Path(options.output)) if options.output else "<standard output>"
        return original_class_diffs(text, product.original_of, shown)
    parts = []
    for name, text in product.files.items():
        label, original = product.originals[name]
        old_label = f"a/{label}" if label is not None else DEV_NULL
        parts.append(unified_diff(original or "", text, old_label, f"b/{patch_path(_target(options, name))}"))
    return "".join(parts)


def _write(product: Product, options: argparse.Namespace, console: Console) -> int:
    if options.mode == "vendor":
        console.status(f"writing {options.output}")
        folder = Path(options.output)
        if product.save is None:
            stale = _checkpoint_problems(product, options)
            if stale:
                console.warning(
                    f"{folder} holds a checkpoint that does not fit the regenerated code "
                    f"({stale[0]}). Fix: regenerate with --save-pretrained, or delete the checkpoint."
                )
        write_folder_atomically(folder, product.files, product.save, force=options.force)
        console.info(f"wrote {options.output}")
        return EXIT_OK
    [source] = product.files.values()
    if options.output is None:
        sys.stdout.write(source)
        sys.stdout.flush()
        return EXIT_OK
    output = Path(options.output)
    console.status(f"writing {output}")
    if is_stream(output):
        with output.open("w", encoding="utf-8") as stream:
            stream.write(source)
    else:
        write_atomically(output, source)
    console.info(f"wrote {options.output}")
    return EXIT_OK


def deliver(product: Product, options: argparse.Namespace, console: Console) -> int:
    """Write, print, diff or check the generated code as the options say; the exit status."""
    if options.check:
        return _check(product, options, console)
    if options.diff:
        diff, _ = _patch_against_output(product, options)
        if product.save is None and options.save_pretrained:
            console.info(
                "the checkpoint is not part of the patch: regenerate with --save-pretrained to save it"
            )
        _show_diff(diff, console)
        return EXIT_OK
    if options.diff_original:
        _show_diff(_diff_original(product, options), console)
        return EXIT_OK
    return _write(product, options, console)
