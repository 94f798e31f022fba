"""docs/notebooks.md cannot rot: its cells run top to bottom in a fresh kernel and print what the page shows.

A Markdown block is a cell when its info string is ``python cell``; when the next block's info string is
``text output``, the cell's standard output must equal that block.
"""

from __future__ import annotations

import re

from notebook_support import REPO_ROOT, running_kernel

PAGE = REPO_ROOT / "docs" / "notebooks.md"
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def page_cells() -> list[tuple[int, str, str | None]]:
    """``(line, source, expected output or None)`` of each cell of the page, in order."""
    text = PAGE.read_text(encoding="utf-8")
    blocks = [(match.group(1).split(), match.group(2), match.start()) for match in FENCE.finditer(text)]
    cells = []
    for index, (info, source, start) in enumerate(blocks):
        if info[:2] != ["python", "cell"]:
            continue
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        expected = following[1] if following is not None and following[0][:2] == ["text", "output"] else None
        cells.append((text.count("\n", 0, start) + 1, source, expected))
    return cells


def test_the_page_documents_the_magic_and_the_api_in_cells():
    sources = [source for _, source, _ in page_cells()]
    assert any(source.startswith("%%declare") for source in sources)
    assert any("archit_codemod.trace()" in source for source in sources)


def test_the_pages_cells_run_in_a_fresh_kernel_and_print_what_the_page_shows(tmp_path):
    with running_kernel(tmp_path) as kernel:
        for line, source, expected in page_cells():
            outputs = kernel.run(source)
            assert not outputs.failed, (
                f"docs/notebooks.md:{line} failed: {outputs.error}\n{outputs.traceback}"
            )
            if expected is not None:
                assert outputs.stdout == expected, f"docs/notebooks.md:{line} printed something else"
