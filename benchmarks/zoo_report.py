"""The zoo's report: a summary per kind and mode, a table per kind, and every fail grouped by cause."""

from __future__ import annotations

import re
from collections import Counter, defaultdict

from zoo_cells import CELL_RESULTS

RATED = ("pass", "refused", "fail")
"""The cells of the pass rate: applicable, and the model builds."""


def markdown_table(rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join("---" for _ in rows[0]) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def summary(cells, kinds, modes) -> str:
    """One row per kind and mode: the count of each result and the pass rate of the cells that count."""
    rows = [("kind", "mode", *CELL_RESULTS, "pass rate (pass / pass+refused+fail)")]
    for kind in kinds:
        for mode in modes:
            counts = Counter(c.result for c in cells if c.kind == kind and c.mode == mode)
            rated = sum(counts[r] for r in RATED)
            rate = f"{counts['pass']}/{rated} = {counts['pass'] / rated:.1%}" if rated else "-"
            rows.append((kind, mode, *(str(counts[r]) for r in CELL_RESULTS), rate))
    return markdown_table(rows)


def kind_tables(cells, architectures, kinds, modes) -> str:
    """Per kind, one row per architecture: its mappings, each mode's result, and the first reason given."""
    mappings = {a.class_name: ", ".join(a.mappings) for a in architectures}
    by_row = defaultdict(dict)
    for cell in cells:
        by_row[(cell.kind, cell.architecture)][cell.mode] = cell
    parts = []
    for kind in kinds:
        rows = [("architecture", "mappings", *modes, "note")]
        for architecture in (a.class_name for a in architectures):
            row = by_row.get((kind, architecture))
            if not row:
                continue
            note = next((c.reason for c in row.values() if c.reason and c.result != "pass"), "")
            note = note or next((c.reason for c in row.values() if c.reason), "")
            results = [
                row[m].result + (f" ({row[m].stage})" if row[m].stage and row[m].result == "fail" else "")
                if m in row
                else "-"
                for m in modes
            ]
            rows.append((architecture, mappings.get(architecture, ""), *results, note[:160]))
        parts.append(f"### {kind}\n\n" + markdown_table(rows))
    return "\n\n".join(parts)


def cause(cell) -> str:
    """A fail's cause: its stage and first error line with the names of the particular model taken out."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", cell.reason)
    text = re.sub(r"\b[A-Z][a-z0-9]+[A-Z]\w*\b", "<Class>", text)
    text = re.sub(r"\b[a-z_][\w]*(\.[\w]+){1,}\b(?!\.py)", "<path>", text)
    text = re.sub(r"\b\d+\b", "N", text)
    return f"{cell.stage}: {text[:150]}"


def fails_by_cause(cells, kinds=None) -> str:
    groups = defaultdict(list)
    for cell in cells:
        if cell.result in ("fail", "refused", "script-error"):
            groups[(cell.result, cause(cell))].append(cell)
    lines = []
    for (result, key), members in sorted(groups.items(), key=lambda item: (item[0][0], -len(item[1]))):
        lines.append(f"- **{result}** x{len(members)} — `{key}`")
        shown = sorted({f"{c.architecture} {c.kind}/{c.mode}" for c in members})
        lines.append(f"  - e.g. {'; '.join(shown[:6])}{' …' if len(shown) > 6 else ''}")
        lines.append(f"  - first: `{members[0].reason[:240]}`")
    return "\n".join(lines) or "(none)"


def report(cells, architectures, kinds, modes, header: str) -> str:
    return (
        "\n\n".join(
            [
                header,
                "## Summary per kind and mode\n\n" + summary(cells, kinds, modes),
                "## Fails and refusals by cause\n\n" + fails_by_cause(cells),
                "## Per kind\n\n" + kind_tables(cells, architectures, kinds, modes),
            ]
        )
        + "\n"
    )
