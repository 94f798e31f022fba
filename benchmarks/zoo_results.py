"""The zoo's rows as data: architectures and cells, a shard of them, a run's result file, and the merge of several.

The whole sweep takes longer than one sitting, so it runs in shards (``--shard I/N``: every N-th class of the
full list, from the I-th on, so that each shard mixes every mapping), each writing its cells to a result file
as they finish (JSON lines: one ``run`` record first, then one ``cell`` record per cell). ``--merge`` reads
several such files and reports their union, saying which shards of how many it holds and whether any is
unfinished.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path


@dataclasses.dataclass
class Architecture:
    class_name: str
    model_type: str
    mappings: tuple[str, ...]
    other_model_types: tuple[str, ...] = ()


@dataclasses.dataclass
class Cell:
    architecture: str
    model_type: str
    kind: str
    mode: str
    result: str
    stage: str = ""
    reason: str = ""
    seconds: float = 0.0


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/8"`` -> ``(2, 8)``; raises ``ValueError`` unless ``1 <= I <= N``."""
    index, _, count = text.partition("/")
    shard = (int(index), int(count))
    if not 1 <= shard[0] <= shard[1]:
        raise ValueError(f"shard {text!r} is not I/N with 1 <= I <= N")
    return shard


def shard_of(architectures: list[Architecture], index: int, count: int) -> list[Architecture]:
    """Shard ``index`` (from 1) of ``count``: every ``count``-th architecture, starting at the ``index``-th."""
    return architectures[index - 1 :: count]


@dataclasses.dataclass
class Run:
    """What one result file ran: its shard, the architectures planned, kinds, modes and versions."""

    shard: tuple[int, int]
    total_classes: int
    architectures: list[Architecture]
    kinds: tuple[str, ...]
    modes: tuple[str, ...]
    versions: str
    command: str

    def record(self) -> dict:
        return {"record": "run", **dataclasses.asdict(self)}

    @classmethod
    def from_record(cls, record: dict) -> Run:
        fields = {k: v for k, v in record.items() if k != "record"}
        fields["architectures"] = [
            Architecture(
                a["class_name"], a["model_type"], tuple(a["mappings"]), tuple(a["other_model_types"])
            )
            for a in fields["architectures"]
        ]
        for name in ("shard", "kinds", "modes"):
            fields[name] = tuple(fields[name])
        return cls(**fields)

    def same_plan(self, other: Run) -> bool:
        return (self.shard, self.total_classes, self.kinds, self.modes, self.versions) == (
            other.shard,
            other.total_classes,
            other.kinds,
            other.modes,
            other.versions,
        )


def read_results(path: Path) -> tuple[Run, list[Cell]]:
    """A result file's run and cells; a last line cut short (the run was killed mid-write) is dropped."""
    lines = path.read_text(encoding="utf-8").splitlines()
    records = []
    for number, line in enumerate(lines, 1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if number == len(lines):
                break
            raise ValueError(f"{path}:{number} is not a JSON line. Fix: remove that line") from None
    if not records or records[0].get("record") != "run":
        raise ValueError(f"{path} does not start with a run record. Fix: pass a file written by --results")
    cells = [Cell(**{k: v for k, v in r.items() if k != "record"}) for r in records[1:]]
    return Run.from_record(records[0]), cells


class ResultsWriter:
    """Appends each finished row's cells to a result file at once, so an interrupted run leaves its rows.

    An existing file of the same plan (shard, kinds, modes, versions) is continued: its rows are ``done``.
    """

    def __init__(self, path: Path, run: Run):
        self.path = path
        self.done: set[tuple[str, str]] = set()
        if path.exists() and path.stat().st_size:
            previous, cells = read_results(path)
            if not previous.same_plan(run):
                raise ValueError(
                    f"{path} holds another run (shard {previous.shard}, {previous.versions}). "
                    "Fix: pass a new --results file, or delete that one"
                )
            modes_done: dict[tuple[str, str], set[str]] = {}
            for cell in cells:
                modes_done.setdefault((cell.architecture, cell.kind), set()).add(cell.mode)
            self.done = {row for row, modes in modes_done.items() if modes >= set(run.modes)}
            kept = [c for c in cells if (c.architecture, c.kind) in self.done]
            self._rewrite(run, kept)
        else:
            self._rewrite(run, [])

    def _rewrite(self, run: Run, cells: list[Cell]) -> None:
        lines = [run.record(), *({"record": "cell", **dataclasses.asdict(c)} for c in cells)]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")

    def write(self, cells: list[Cell]) -> None:
        with self.path.open("a", encoding="utf-8") as file:
            for cell in cells:
                file.write(json.dumps({"record": "cell", **dataclasses.asdict(cell)}) + "\n")


@dataclasses.dataclass
class Merged:
    architectures: list[Architecture]
    cells: list[Cell]
    kinds: tuple[str, ...]
    modes: tuple[str, ...]
    header: str


def merge(results: list[tuple[Run, list[Cell]]]) -> Merged:
    """The union of several shards' results of one plan, ordered as the full list, and a header saying what it holds.

    The header names the shards included, of how many, the classes done of all classes, and each shard that
    did not finish; a later file's cell for the same (architecture, kind, mode) replaces an earlier one's.
    """
    if not results:
        raise ValueError("no result files to merge. Fix: pass the --results files of the shards")
    first = results[0][0]
    for run, _ in results:
        if (run.shard[1], run.total_classes, run.kinds, run.modes, run.versions) != (
            first.shard[1],
            first.total_classes,
            first.kinds,
            first.modes,
            first.versions,
        ):
            raise ValueError(
                f"shard {run.shard[0]}/{run.shard[1]} ({run.versions}) is not of the same sweep as "
                f"shard {first.shard[0]}/{first.shard[1]} ({first.versions}). Fix: merge one sweep's shards"
            )
    planned: dict[int, list[Architecture]] = {}
    by_key: dict[tuple[str, str, str], Cell] = {}
    for run, cells in results:
        planned[run.shard[0]] = run.architectures
        for cell in cells:
            by_key[(cell.architecture, cell.kind, cell.mode)] = cell
    # Shard I holds the full list's positions I-1, I-1+N, ...: interleaving the shards restores its order.
    count = first.shard[1]
    positioned = [
        (position * count + index - 1, architecture)
        for index, architectures in planned.items()
        for position, architecture in enumerate(architectures)
    ]
    architectures = [a for _, a in sorted(positioned, key=lambda item: item[0])]
    order = {a.class_name: i for i, a in enumerate(architectures)}
    kind_order = {k: i for i, k in enumerate(first.kinds)}
    mode_order = {m: i for i, m in enumerate(first.modes)}
    cells = sorted(
        by_key.values(),
        key=lambda c: (order.get(c.architecture, len(order)), kind_order[c.kind], mode_order[c.mode]),
    )
    return Merged(architectures, cells, first.kinds, first.modes, merged_header(first, planned, cells))


def merged_header(first: Run, planned: dict[int, list[Architecture]], cells: list[Cell]) -> str:
    """Which shards of how many, classes and cells done, and each shard not finished."""
    count = first.shard[1]
    rows_planned = len(first.kinds)
    unfinished = []
    for index in sorted(planned):
        names = {a.class_name for a in planned[index]}
        rows_done = {(c.architecture, c.kind) for c in cells if c.architecture in names}
        if len(rows_done) < len(planned[index]) * rows_planned:
            unfinished.append(
                f"shard {index} unfinished: {len(rows_done)} of {len(planned[index]) * rows_planned} rows"
            )
    done_classes = len({c.architecture for c in cells})
    whole = len(planned) == count and not unfinished
    shards = ",".join(str(i) for i in sorted(planned))
    seconds = sum(c.seconds for c in cells)
    return (
        f"{first.versions}: {'whole sweep' if whole else 'PARTIAL table'}, shards {shards} of {count}: "
        f"{done_classes} of {first.total_classes} classes, {len(cells)} cells, {seconds:.0f} s of worker time"
        + (f" ({'; '.join(unfinished)})" if unfinished else "")
    )
