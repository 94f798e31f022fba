"""Documentation that cannot rot: the command-line reference is what the parser says, every example script
is run by some test, and the runnable Python blocks of the README and docs/ run and print what they show.

A Markdown block is runnable when its info string is ``python runnable``; when the next block's info
string is ``text output``, the snippet's standard output must equal that block.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from ecosystem_support import PYTHON, REPO_ROOT, subprocess_environment

DOCUMENTS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def load_generator() -> ModuleType:
    path = REPO_ROOT / "scripts" / "gen_cli_doc.py"
    spec = importlib.util.spec_from_file_location("gen_cli_doc", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- command-line reference ---------------------------------------------------------------------------


def test_cli_reference_is_what_the_generator_makes_from_the_current_parser():
    generator = load_generator()
    assert generator.CLI_DOC.read_text(encoding="utf-8") == generator.render(), (
        "docs/cli.md is out of date; run: python scripts/gen_cli_doc.py"
    )


def test_cli_reference_documents_every_option_of_help():
    """An independent check of the generator: the options ``--help`` prints are the ones documented."""
    process = subprocess.run(
        [PYTHON, "-m", "archit_codemod", "--help"],
        env=subprocess_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == 0, process.stderr
    option = re.compile(r"(?<![\w-])--?[a-zA-Z][\w-]*")
    in_help = set(option.findall(process.stdout.split("options:", 1)[1]))
    reference = (REPO_ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    options_table = reference.split("## Options", 1)[1].split("## ", 1)[0]
    documented = set(re.findall(r"^\| `(--?[\w-]+)", options_table, re.MULTILINE))
    documented |= set(re.findall(r", `(--?[\w-]+)", options_table))
    assert "--output" in in_help
    assert documented == in_help


# --- pre-commit -----------------------------------------------------------------------------------------


def test_pre_commit_snippets_are_whole_configuration_files():
    """What a user copies into ``.pre-commit-config.yaml`` must be one: a ``repos:`` list whose remote hooks
    are those ``.pre-commit-hooks.yaml`` ships."""
    import yaml

    shipped = {hook["id"] for hook in yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())}
    snippets = [
        (document, match.group(2))
        for document in DOCUMENTS
        for match in FENCE.finditer(document.read_text(encoding="utf-8"))
        if match.group(1).strip() == "yaml" and "hooks:" in match.group(2)
    ]
    assert len(snippets) >= 3
    for document, snippet in snippets:
        where = document.relative_to(REPO_ROOT)
        configuration = yaml.safe_load(snippet)
        assert isinstance(configuration, dict) and isinstance(configuration.get("repos"), list), where
        for repository in configuration["repos"]:
            assert {"repo", "hooks"} <= set(repository), where
            if repository["repo"] != "local":
                assert {hook["id"] for hook in repository["hooks"]} <= shipped, where


# --- example scripts ----------------------------------------------------------------------------------


def test_every_example_script_is_run_by_a_test():
    tests = {
        path: path.read_text(encoding="utf-8")
        for path in (REPO_ROOT / "tests").rglob("*.py")
        if path.name != Path(__file__).name
    }
    examples = sorted((REPO_ROOT / "examples").glob("*.py"))
    assert examples
    unexercised = [
        example.name
        for example in examples
        if not any(f'"{example.stem}"' in text or example.name in text for text in tests.values())
    ]
    assert not unexercised, f"examples no test names (they can rot): {unexercised}"


# --- runnable snippets --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snippet:
    document: Path
    line: int
    code: str
    expected_output: str | None

    def __str__(self) -> str:
        return f"{self.document.relative_to(REPO_ROOT)}:{self.line}"


def runnable_snippets(document: Path) -> list[Snippet]:
    text = document.read_text(encoding="utf-8")
    blocks = [(match.group(1).split(), match.group(2), match.start()) for match in FENCE.finditer(text)]
    snippets = []
    for index, (info, code, start) in enumerate(blocks):
        if info[:2] != ["python", "runnable"]:
            continue
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        expected = following[1] if following is not None and following[0][:2] == ["text", "output"] else None
        snippets.append(Snippet(document, text.count("\n", 0, start) + 1, code, expected))
    return snippets


SNIPPETS = [snippet for document in DOCUMENTS for snippet in runnable_snippets(document)]


def test_the_documentation_has_runnable_snippets():
    """Guards the parametrised test below against silently running nothing (a renamed marker, say)."""
    assert any(snippet.document.name == "migration.md" for snippet in SNIPPETS)


@pytest.mark.parametrize("snippet", SNIPPETS, ids=str)
def test_runnable_snippet_runs_and_prints_what_the_document_shows(snippet, tmp_path):
    process = subprocess.run(
        [PYTHON, "-c", snippet.code],
        cwd=tmp_path,
        env=subprocess_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert process.returncode == 0, f"{snippet} failed:\n{process.stderr[-4000:]}"
    if snippet.expected_output is not None:
        assert process.stdout == snippet.expected_output, f"{snippet} printed something else"
