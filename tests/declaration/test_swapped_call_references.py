"""A class named inside a call whose callee the plan swaps keeps its references renamed in vendor mode.

Swin's encoder builds ``SwinStage(..., downsample=SwinPatchMerging if ... else None)``. With every LayerNorm
replaced, ``SwinStage`` becomes ``SwinStageModified`` there, and vendor mode renames ``SwinPatchMerging`` (whose
norm changed too) in place, renaming each reference it finds by identity: the swapped call keeps the original
nodes of what it does not swap, so ``downsample=`` names the renamed class (it named a class no longer bound).
"""

from __future__ import annotations

import sys

from tests.declaration.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
import zoo_cells  # noqa: E402

TINY_SWIN = "embed_dim=16 depths=[1,1,1] num_heads=[2,2,2] image_size=32 patch_size=4 window_size=2"


def test_a_class_passed_as_an_argument_of_a_swapped_call_is_renamed_with_its_class():
    cells = zoo_cells.run_kind(
        ["swin"], "SwinForImageClassification", "norms", settings=tuple(TINY_SWIN.split())
    )
    assert [(cell["mode"], cell["result"]) for cell in cells] == [("subclass", "pass"), ("vendor", "pass")], (
        cells
    )
