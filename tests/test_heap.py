"""After the script, full collections skip the objects that exist, and the freezing is left as it was found."""

from __future__ import annotations

import gc

from archit_codemod.delivery.heap import collections_skip_what_exists


def test_what_exists_is_frozen_inside_the_block_only():
    assert gc.get_freeze_count() == 0
    with collections_skip_what_exists():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_an_inner_block_leaves_the_outer_one_frozen():
    with collections_skip_what_exists():
        with collections_skip_what_exists():
            pass
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_objects_the_process_froze_itself_stay_frozen():
    # The freeze count is no witness: a frozen object that is freed leaves the count. An object in the oldest
    # generation is not frozen; unfreezing moves every frozen object there.
    marker = ["frozen by the process"]
    gc.freeze()
    try:
        with collections_skip_what_exists():
            pass
        assert not any(candidate is marker for candidate in gc.get_objects(generation=2))
    finally:
        gc.unfreeze()
    assert any(candidate is marker for candidate in gc.get_objects(generation=2))


def test_the_block_unfreezes_when_it_raises():
    try:
        with collections_skip_what_exists():
            raise KeyError("stop")
    except KeyError:
        pass
    assert gc.get_freeze_count() == 0
