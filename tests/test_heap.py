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
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with collections_skip_what_exists():
            pass
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_the_block_unfreezes_when_it_raises():
    try:
        with collections_skip_what_exists():
            raise KeyError("stop")
    except KeyError:
        pass
    assert gc.get_freeze_count() == 0
