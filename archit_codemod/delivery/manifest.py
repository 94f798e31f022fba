"""The checkpoint manifest of a vendor folder saved with ``--save-pretrained``: what ``--check`` compares.

Weights are not compared byte for byte (a script that initialises new modules randomly would never be up to
date). Instead the folder holds ``archit_codemod.json`` with

- ``files``: the SHA-256 of each checkpoint file written (``config.json``, the weights, a shard index), so a
  file deleted, replaced or edited afterwards is found;
- ``model``: a fingerprint of the model the checkpoint was saved from: its config and the names, shapes and
  dtypes of its tensors, so a checkpoint that no longer fits what the script builds (``bottleneck_size``
  changed, then the code regenerated without ``--save-pretrained``) is found.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from archit_codemod.delivery.files import WEIGHT_FILE_PATTERNS

__all__ = ["MANIFEST_NAME", "checkpoint_problems", "model_fingerprint", "write_manifest"]

MANIFEST_NAME = "archit_codemod.json"

_VOLATILE_CONFIG_KEYS = frozenset({"transformers_version", "_name_or_path", "_commit_hash"})


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_fingerprint(model: Any) -> str:
    """SHA-256 of the model's config and of the names, shapes and dtypes of its state (not the values)."""
    config = getattr(model, "config", None)
    config_dict = config.to_dict() if config is not None else {}
    tensors = [[name, list(tensor.shape), str(tensor.dtype)] for name, tensor in model.state_dict().items()]
    described = {
        "config": {key: value for key, value in config_dict.items() if key not in _VOLATILE_CONFIG_KEYS},
        "tensors": tensors,
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True, default=str).encode()).hexdigest()


def checkpoint_files(folder: Path) -> list[Path]:
    """The checkpoint files of ``folder``: its ``config.json`` and weights (single file or shards and index)."""
    found = {folder / "config.json"} if (folder / "config.json").is_file() else set()
    for pattern in WEIGHT_FILE_PATTERNS:
        found.update(path for path in folder.glob(pattern) if path.is_file())
    return sorted(found)


def write_manifest(folder: Path, model: Any) -> None:
    """Record the checkpoint ``save_pretrained`` just wrote into ``folder``, saved from ``model``."""
    manifest = {
        "note": "Written by archit_codemod --save-pretrained; `--check` compares the checkpoint with it.",
        "model": model_fingerprint(model),
        "files": {path.name: _sha256(path) for path in checkpoint_files(folder)},
    }
    (folder / MANIFEST_NAME).write_text(
        json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )


def read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        manifest = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def checkpoint_problems(folder: Path, model: Any, shown: str, *, required: bool) -> list[str]:
    """Why the checkpoint in ``folder`` is not what saving ``model`` there would record ([] when it is).

    ``shown`` is the folder as the messages name it; ``required``: a folder without a manifest is a problem
    (``--save-pretrained`` was given), rather than a folder without a checkpoint.
    """
    manifest = read_manifest(folder)
    if manifest is None:
        if required:
            return [f"{shown}/{MANIFEST_NAME}: missing, so the checkpoint was not saved by --save-pretrained"]
        return []
    recorded = manifest.get("files")
    if not isinstance(recorded, dict) or not isinstance(manifest.get("model"), str):
        return [f"{shown}/{MANIFEST_NAME}: not a manifest archit_codemod wrote (edited by hand?)"]
    problems = []
    for name, digest in sorted(recorded.items()):
        path = folder / name
        if not path.is_file():
            problems.append(f"{shown}/{name}: missing (deleted after it was saved)")
        elif _sha256(path) != digest:
            problems.append(f"{shown}/{name}: changed after it was saved")
    for path in checkpoint_files(folder):
        if path.name not in recorded:
            problems.append(f"{shown}/{path.name}: not part of the saved checkpoint")
    if manifest["model"] != model_fingerprint(model):
        problems.append(
            f"{shown}: the checkpoint was saved from another model than the script builds now "
            "(its config or the shapes of its weights differ)"
        )
    return problems
