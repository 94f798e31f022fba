"""Print where the codemod stands on the real-world corpus: script x mode -> outcome, with the time per case.

    python benchmarks/realworld_table.py                 # every script the installed packages can run
    python benchmarks/realworld_table.py --jobs 2        # in two worker processes
    python benchmarks/realworld_table.py --markdown peft_lora_bert.py torch_prune_l1.py

Outcomes (judged by tests/realworld/realworld_support.py, not by the codemod's own verification):
``declared`` (exit 0, rebuilt model matches and round-trips), ``nothing`` (exit 1 "nothing to declare", proven
by rebuilding the original class), ``refused`` (exit 2, listed in docs/realworld.md), ``FAIL(kind)``.
The ``ok`` column says whether the outcome meets the script's target in tests/realworld/test_realworld.py.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REALWORLD_DIR = Path(__file__).resolve().parents[1] / "tests" / "realworld"


def _import_support() -> None:
    if str(REALWORLD_DIR) not in sys.path:
        sys.path.insert(0, str(REALWORLD_DIR))


def _run(case: tuple[str, str]) -> tuple[str, str, str, float, str, str]:
    _import_support()
    from realworld_support import run_case

    script, mode = case
    with tempfile.TemporaryDirectory(prefix="realworld_") as folder:
        outcome = run_case(script, mode, Path(folder))
    return script, mode, outcome.label, outcome.seconds, outcome.detail, outcome.note


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scripts", nargs="*", help="script names (default: the whole corpus)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default: 1)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--width", type=int, default=110, help="characters of the first error line shown")
    return parser.parse_args()


def _print_table(rows: list[tuple], expected: dict[str, str], markdown: bool, width: int) -> None:
    header = ("script", "mode", "outcome", "target", "ok", "s", "first error line / note")
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
    for script, mode, label, seconds, detail, note in rows:
        target = expected.get(script, "?")
        ok = "-" if label.startswith("n/a") else "yes" if label in (target, "declared") else "NO"
        text = (detail or note).replace("|", "\\|")[:width]
        cells = (script, mode, label, target, ok, f"{seconds:.1f}", text)
        if markdown:
            print("| " + " | ".join(f"`{c}`" if i == 0 else c for i, c in enumerate(cells)) + " |")
        else:
            print(
                f"{cells[0]:34} {cells[1]:8} {cells[2]:24} {cells[3]:8} {cells[4]:3} {cells[5]:>5}  {cells[6]}"
            )


def main() -> int:
    options = _parse()
    _import_support()
    from realworld_support import MODES, corpus, unavailable
    from test_realworld import EXPECTED, target

    scripts = options.scripts or corpus()
    rows, cases = [], []
    for script in scripts:
        reason = unavailable(script)
        if reason:
            rows += [(script, mode, f"n/a ({reason})", 0.0, "", "") for mode in MODES]
        else:
            cases += [(script, mode) for mode in MODES]
    started = time.perf_counter()
    if options.jobs > 1:
        context = multiprocessing.get_context("spawn")  # torch and fork do not mix
        with ProcessPoolExecutor(options.jobs, mp_context=context) as pool:
            rows += list(pool.map(_run, cases))
    else:
        rows += [_run(case) for case in cases]
    elapsed = time.perf_counter() - started
    rows.sort(key=lambda row: (row[0], MODES.index(row[1])))
    targets = {script: target(script) for script in EXPECTED}
    _print_table(rows, targets, options.markdown, options.width)

    counts = collections.Counter(row[2] for row in rows if not row[2].startswith("n/a"))
    met = sum(row[2] in (targets.get(row[0]), "declared") for row in rows if not row[2].startswith("n/a"))
    ran = sum(counts.values())
    print(
        f"\n{met}/{ran} cases meet their target; " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
    )
    print(
        f"{ran} cases in {elapsed:.0f} s with {options.jobs} job(s); per case: sum {sum(r[3] for r in rows):.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
