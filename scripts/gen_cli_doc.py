"""Generate docs/cli.md, the command-line reference, from the parsers of ``archit_codemod.cli.parser``.

    python scripts/gen_cli_doc.py           # rewrite docs/cli.md
    python scripts/gen_cli_doc.py --check   # exit 1 when docs/cli.md is out of date

The reference is rendered from the parser's actions (option strings, metavars, choices, defaults, help)
rather than from ``format_help()``, whose layout depends on the Python version and the terminal width;
the same parser gives the same file everywhere. ``tests/ecosystem/test_docs.py`` checks that the file
is up to date.
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))  # document this checkout's parser, installed or not
CLI_DOC = REPO_ROOT / "docs" / "cli.md"
PROG = "python -m archit_codemod"


def _markdown(text: str) -> str:
    """reStructuredText literals (``x``) as Markdown code (`x`), on one line, with table pipes escaped and
    dunder names (``__init__``) as code, so Markdown does not read their underscores as emphasis."""
    text = " ".join(text.replace("``", "`").split()).replace("|", "\\|")
    return re.sub(r"(?<![`\w])(__\w+__)(?![`\w])", r"`\1`", text)


def _help(action: argparse.Action) -> str:
    """The action's help with its ``%(...)s`` fields filled in, as argparse's HelpFormatter fills them."""
    if not action.help or action.help == argparse.SUPPRESS:
        return ""
    fields = dict(vars(action), prog=PROG)
    if action.choices is not None:
        fields["choices"] = ", ".join(map(str, action.choices))
    return action.help % fields


def _invocation(action: argparse.Action) -> str:
    """``-o PATH``, ``--output PATH`` / ``--mode {subclass,vendor}`` / ``SCRIPT``, as Markdown code."""
    if not action.option_strings:
        return f"`{action.metavar or action.dest}`"
    if action.nargs == 0:
        value = ""
    elif action.metavar is not None:
        value = f" {action.metavar}"
    elif action.choices is not None:
        value = " {" + ",".join(map(str, action.choices)) + "}"
    else:
        value = f" {action.dest.upper()}"
    return ", ".join(f"`{option}{value}`" for option in action.option_strings)


def _exit_status(module_doc: str) -> str:
    """The exit-status sentence of the cli module's docstring (its single source)."""
    text = " ".join(module_doc.split())
    found = re.search(r"Exit status: (.*?\.)(?:\s|$)", text)
    if found is None:
        raise SystemExit(
            "archit_codemod/cli/__init__.py's docstring has no 'Exit status: ...' sentence to document"
        )
    return found.group(1)


def _table(heading: str, actions: list[argparse.Action]) -> list[str]:
    return [
        f"| {heading} | Meaning |",
        "|---|---|",
        *(f"| {_invocation(action)} | {_markdown(_help(action))} |" for action in actions),
    ]


def _documented(parser: argparse.ArgumentParser) -> tuple[list[argparse.Action], list[argparse.Action]]:
    """The parser's positionals and options, in order."""
    # _actions: argparse has no public way to list a parser's arguments (sphinx-argparse reads it too).
    actions = [action for action in parser._actions if action.help != argparse.SUPPRESS]
    return [a for a in actions if not a.option_strings], [a for a in actions if a.option_strings]


def _toml_example(module_doc: str) -> list[str]:
    """The indented ``pyproject.toml`` example of the project module's docstring (its single source)."""
    lines = module_doc.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("[tool.archit_codemod]"))
    block = []
    for line in lines[start:]:
        if line and not line.startswith("    "):
            break
        block.append(line[4:])
    return "\n".join(block).strip("\n").splitlines()


def _project_section() -> list[str]:
    from archit_codemod.cli import parser as cli_parser
    from archit_codemod.cli import project_config, project_run

    lines = ["## Project commands: `check` and `generate`", ""]
    for command in cli_parser.PROJECT_COMMANDS:
        parser = cli_parser.build_project_parser(command)
        parser.prog = f"{PROG} {command}"
        lines += [
            "```text",
            parser.format_usage().strip(),
            "```",
            "",
            _markdown(parser.description or ""),
            "",
        ]
    positionals, optionals = _documented(cli_parser.build_project_parser("check"))
    lines += _table("Argument or option", positionals + optionals) + [""]
    lines += [_markdown(inspect.getdoc(project_run).split("\n\n", 1)[1]), ""]
    lines += ["The targets are listed in the repository's `pyproject.toml`:", "", "```toml"]
    lines += _toml_example(inspect.getdoc(project_config) or "") + ["```", ""]
    lines += ["| Key | Meaning |", "|---|---|"]
    lines += [f"| `{key}` | {_markdown(meaning)} |" for key, meaning in project_config.TARGET_KEYS.items()]
    lines += [
        "",
        "Paths are relative to the folder of the `pyproject.toml`. Every key but `script`, `output`, `args` and "
        "`name` may also be set in `[tool.archit_codemod]` itself, as the default of every target.",
        "",
    ]
    return lines


def render() -> str:
    """The Markdown reference of the current parsers."""
    from archit_codemod import cli
    from archit_codemod.cli import parser as cli_parser

    parser = cli_parser.build_parser()
    parser.prog = PROG  # build_parser() names the program after sys.argv[0]
    positionals, optionals = _documented(parser)
    lines = [
        "# Command-line reference",
        "",
        "<!-- Generated by scripts/gen_cli_doc.py from archit_codemod.cli.parser.build_parser(); do not edit.",
        "     Regenerate with: python scripts/gen_cli_doc.py -->",
        "",
        "`archit-codemod` (the console script) and `python -m archit_codemod` are the same command.",
        "",
        "```text",
        parser.format_usage().strip(),
        "```",
        "",
        _markdown(parser.description or ""),
        "",
        "## Arguments",
        "",
        *_table("Argument", positionals),
        "| `SCRIPT_ARGS...` | everything after SCRIPT, passed to the script unchanged (`--` and options included) |",
        "",
        "## Options",
        "",
        *_table("Option", optionals),
        "",
        *_project_section(),
        "## Exit status",
        "",
        _markdown(_exit_status(inspect.getdoc(cli) or "")),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--check", action="store_true", help="exit 1 when docs/cli.md is out of date")
    options = arguments.parse_args(argv)
    text = render()
    current = CLI_DOC.read_text(encoding="utf-8") if CLI_DOC.exists() else None
    if options.check:
        if current != text:
            print(f"{CLI_DOC} is out of date; run: python scripts/gen_cli_doc.py", file=sys.stderr)
            return 1
        return 0
    if current != text:
        CLI_DOC.write_text(text, encoding="utf-8")
        print(f"wrote {CLI_DOC}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
