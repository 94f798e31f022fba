"""The zoo sweep in shards: the partition of the architectures, the result files, and their merge (no model built)."""

from __future__ import annotations

import sys

import pytest

from tests.declaration.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
import zoo_report  # noqa: E402
from zoo_cells import REPO_ROOT as ZOO_REPO_ROOT  # noqa: E402
from zoo_cells import one_line  # noqa: E402
from zoo_results import (  # noqa: E402
    Architecture,
    Cell,
    ResultsWriter,
    Run,
    merge,
    parse_shard,
    read_results,
    shard_of,
)

KINDS = ("lora", "head")
MODES = ("subclass", "vendor")
ARCHITECTURES = [Architecture(f"Model{i}ForCausalLM", f"model{i}", ("causal_lm",)) for i in range(11)]


def _run(index: int, count: int) -> Run:
    chosen = shard_of(ARCHITECTURES, index, count)
    return Run(
        (index, count), len(ARCHITECTURES), chosen, KINDS, MODES, "transformers X", f"--shard {index}/{count}"
    )


def _cells(architectures: list[Architecture]) -> list[Cell]:
    """A fail for every third architecture's head, a pass everywhere else."""
    return [
        Cell(
            a.class_name,
            a.model_type,
            kind,
            mode,
            "fail" if kind == "head" and i % 3 == 0 else "pass",
            "verify",
        )
        for a in architectures
        for i in [ARCHITECTURES.index(a)]
        for kind in KINDS
        for mode in MODES
    ]


def _written(tmp_path, index: int, count: int, architectures: list[Architecture] | None = None):
    run = _run(index, count)
    path = tmp_path / f"shard-{index}-of-{count}.jsonl"
    writer = ResultsWriter(path, run)
    for architecture in run.architectures if architectures is None else architectures:
        for kind in KINDS:
            writer.write([c for c in _cells([architecture]) if c.kind == kind])
    return path


@pytest.mark.parametrize("count", [1, 3, 4, 11, 12])
def test_shards_are_disjoint_and_cover_the_list_each_a_spread_of_it(count):
    shards = [shard_of(ARCHITECTURES, index, count) for index in range(1, count + 1)]
    names = [a.class_name for shard in shards for a in shard]
    assert sorted(names) == sorted(a.class_name for a in ARCHITECTURES)
    assert len(names) == len(set(names))
    assert max(map(len, shards)) - min(map(len, shards)) <= 1


def test_a_shard_outside_one_to_n_is_refused():
    assert parse_shard("2/8") == (2, 8)
    for text in ("0/8", "9/8", "2"):
        with pytest.raises(ValueError):
            parse_shard(text)


def test_the_merge_of_all_shards_reports_as_the_union_of_their_cells(tmp_path):
    merged = merge([read_results(_written(tmp_path, index, 3)) for index in (2, 1, 3)])

    assert [a.class_name for a in merged.architectures] == [a.class_name for a in ARCHITECTURES]
    union = _cells(ARCHITECTURES)
    assert merged.cells == union
    assert merged.header.startswith(
        "transformers X: whole sweep, shards 1,2,3 of 3: 11 of 11 classes, 44 cells"
    )
    body = zoo_report.report(merged.cells, merged.architectures, KINDS, MODES, "")
    assert body == zoo_report.report(union, ARCHITECTURES, KINDS, MODES, "")
    # Hand count: architectures 0, 3, 6, 9 fail their head in both modes.
    assert "| head | subclass | 7 | 0 | 0 | 0 | 4 | 0 | 7/11 = 63.6% |" in body


def test_a_partial_merge_says_which_shards_and_what_is_unfinished(tmp_path):
    unfinished = shard_of(ARCHITECTURES, 2, 4)[:1]
    merged = merge(
        [read_results(_written(tmp_path, 1, 4)), read_results(_written(tmp_path, 2, 4, unfinished))]
    )
    assert merged.header.startswith(
        "transformers X: PARTIAL table, shards 1,2 of 4: 4 of 11 classes, 16 cells"
    )
    assert merged.header.endswith("(shard 2 unfinished: 2 of 6 rows)")


def test_shards_of_another_sweep_are_not_merged(tmp_path):
    with pytest.raises(ValueError, match="not of the same sweep"):
        merge([read_results(_written(tmp_path, 1, 4)), read_results(_written(tmp_path, 2, 3))])


def test_a_result_file_of_the_same_shard_is_continued_from_its_finished_rows(tmp_path):
    run = _run(1, 3)
    path = _written(tmp_path, 1, 3, run.architectures[:2])
    with path.open("a") as file:
        file.write('{"record": "cell", "architecture": "Model6')  # killed mid-line
    continued = ResultsWriter(path, run)
    assert continued.done == {(a.class_name, kind) for a in run.architectures[:2] for kind in KINDS}
    for architecture in run.architectures[2:]:
        continued.write(_cells([architecture]))
    _, cells = read_results(path)
    assert cells == _cells(run.architectures)
    with pytest.raises(ValueError, match="holds another run"):
        ResultsWriter(path, _run(2, 3))


def test_results_go_into_a_folder_that_is_created(tmp_path):
    """The documented command writes into out/sweep/, which a fresh checkout does not have."""
    path = tmp_path / "out" / "sweep" / "shard-1-of-3.jsonl"
    ResultsWriter(path, _run(1, 3)).write(_cells(shard_of(ARCHITECTURES, 1, 3)[:1]))
    run, cells = read_results(path)
    assert run.shard == (1, 3) and len(cells) == len(KINDS) * len(MODES)


def test_a_reason_names_no_path_of_the_machine_that_ran_the_sweep():
    installed = "/opt/env/lib/python3.11/site-packages/transformers/models/xlstm/modeling_xlstm.py"
    assert one_line(ValueError(f"Cannot vendor xLSTMLayer: {installed} defines it twice")) == (
        "ValueError: Cannot vendor xLSTMLayer: transformers/models/xlstm/modeling_xlstm.py defines it twice"
    )
    script = ZOO_REPO_ROOT / "benchmarks" / "zoo" / "lora_query.py"
    assert one_line(RuntimeError(f"{script} raised")) == "RuntimeError: benchmarks/zoo/lora_query.py raised"
