"""README excerpts of generated code stay true: each is a verbatim part of the golden file it names."""

import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
EXCERPT = re.compile(r"^```python excerpt (\S+)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def test_readme_excerpts_are_verbatim_parts_of_their_golden_files():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    excerpts = EXCERPT.findall(readme)
    assert excerpts, "README.md shows no excerpt of generated code"
    for path, excerpt in excerpts:
        golden = (REPO_ROOT / path).read_text(encoding="utf-8")
        assert excerpt in golden, f"README excerpt is not part of {path}: regenerate the excerpt"
