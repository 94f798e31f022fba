"""The header's provenance: paths that do not depend on the working folder, and the per-class change list."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from archit_codemod.declaration.provenance import Provenance, change_lines, compact_paths, repository_root


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        (["a.0.b", "a.1.b", "a.2.b", "a.3.b"], ["a.{0..3}.b"]),
        (["a.0.b", "a.1.b"], ["a.{0,1}.b"]),
        (["a.0.b", "a.1.b", "a.2.b", "a.5.b", "a.7.b", "a.8.b", "a.9.b"], ["a.{0..2,5,7..9}.b"]),
        (["a.3.b"], ["a.3.b"]),
        (["x", "a.0", "a.1", "y"], ["x", "a.{0,1}", "y"]),
        # Only the last index varies per group: other indices keep the paths apart.
        (["h.0.m.0", "h.0.m.1", "h.1.m.0"], ["h.0.m.{0,1}", "h.1.m.0"]),
        (["a.1", "a.1"], ["a.1"]),
    ],
)
def test_instance_paths_that_differ_in_one_index_share_a_line(paths, expected):
    assert compact_paths(paths) == expected


def test_change_lines_group_instances_and_locations_per_generated_class():
    uses = [
        ("model.layer.0.attention", "Attention", "AttentionModified", "modify.py:12"),
        ("model.layer.0.attention", "Attention", "AttentionModified", "modify.py:13"),
        ("model.layer.1.attention", "Attention", "AttentionModified", "modify.py:12"),
        ("model.layer.1.attention", "Attention", "AttentionModified", "modify.py:13"),
        ("model", "Net", "NetModified", "modify.py:12"),
        ("model", "Net", "NetModified", "helpers/widen.py:4"),
        ("model.head", "Head", "HeadModified", ""),
    ]
    assert change_lines(uses) == [
        "model.layer.{0,1}.attention: Attention -> AttentionModified (modify.py:12,13)",
        "model: Net -> NetModified (helpers/widen.py:4, modify.py:12)",
        "model.head: Head -> HeadModified",
    ]


def test_paths_are_relative_to_the_repository_around_the_output(tmp_path: Path):
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    (repo / "models").mkdir()
    (repo / "pyproject.toml").write_text("")
    script = repo / "scripts" / "modify.py"
    script.write_text("")
    helper = repo / "scripts" / "helpers.py"
    assert repository_root(repo / "models") == repo.resolve()

    in_repo = Provenance.for_output(script, repo / "models")
    assert in_repo.script_label() == PurePosixPath("scripts/modify.py")
    assert in_repo.location(str(script), 7) == "modify.py:7"
    assert in_repo.location(str(helper), 3) == "scripts/helpers.py:3"
    assert in_repo.location("/usr/lib/python3/site-packages/lib/module.py", 9) == "module.py:9"
    # Standard output: the script's own repository; the same header as a file written inside it.
    assert Provenance.for_output(script, None).script_label() == PurePosixPath("scripts/modify.py")
    # Written outside of any repository: still relative to the script's repository, never to the output.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert Provenance.for_output(script, elsewhere).script_label() == PurePosixPath("scripts/modify.py")


def test_outside_any_repository_only_the_file_name_is_shown(tmp_path: Path):
    script = tmp_path / "modify.py"
    script.write_text("")
    provenance = Provenance.for_output(script, tmp_path)
    assert provenance.script_label() == PurePosixPath("modify.py")
    assert provenance.location(str(tmp_path / "other.py"), 2) == "other.py:2"
    assert Provenance().script_label() is None
