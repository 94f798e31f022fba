"""Standalone model folders: a saved model plus the source of its classes, loadable without this package.

``model.save_pretrained(folder, standalone=True)`` writes, next to ``config.json`` and the weights, a copy of every
module of this package (and of the user's own modules) that the model's classes need, as flat files
(``archit_codemod/instantiation/tasks/lm.py`` -> ``archit_codemod__instantiation__tasks__lm.py``, see
:func:`archit_codemod.util.standaloneModuleName`), and an entry module, :data:`ENTRY_MODULE`, that imports the
config, task, base-model and head-config classes. ``config.json``'s ``auto_map`` names them in the entry module, so
``AutoModelFor<Task>.from_pretrained(folder, trust_remote_code=True)`` (or ``AutoModel``, for tasks without an auto
class of their own) rebuilds the model on a machine where this package is not installed. The copies are made from
the package's source by :mod:`archit_codemod.instantiation.standalone`.

This module is copied into such folders too: a model loaded from one writes the same files again when it is saved
(transformers alone would copy only the modules the task module imports, and point ``auto_map`` at them).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from transformers.dynamic_module_utils import get_relative_import_files

from archit_codemod.util import standaloneCopyPackage

__all__ = [
    "ENTRY_MODULE",
    "SavesStandaloneFolders",
    "autoMapOf",
    "filesOfThisCopy",
    "runsAsStandaloneCopy",
    "standaloneFilesOf",
    "writeStandaloneFiles",
]

# The module of a standalone folder that auto_map points into.
ENTRY_MODULE = "modeling_archit_codemod"


def runsAsStandaloneCopy() -> bool:
    """Whether this code runs from a standalone model folder's copies (as transformers' remote code)."""
    return standaloneCopyPackage() is not None


def filesOfThisCopy() -> dict[str, str]:
    """File name -> text of the entry module of the standalone folder this code was loaded from, and of every module
    it imports. Only meaningful when :func:`runsAsStandaloneCopy`."""
    entry = sys.modules[f"{standaloneCopyPackage()}.{ENTRY_MODULE}"].__file__
    paths = [entry, *get_relative_import_files(entry)]
    return {Path(path).name: Path(path).read_text(encoding="utf-8") for path in paths}


def standaloneFilesOf(model: Any) -> dict[str, str]:
    """The files of a standalone folder of ``model`` besides those ``save_pretrained`` writes: this copy's, when
    the model was loaded from such a folder, else made from the source (which needs this package installed)."""
    if runsAsStandaloneCopy():
        return filesOfThisCopy()
    try:
        # Imported here: this module is copied into standalone folders, which hold no standalone.py (it needs LibCST).
        from archit_codemod.instantiation.standalone import standaloneSources
    except ImportError as error:
        raise ImportError(
            f"Writing a standalone folder needs archit_codemod: {error}. Fix: pip install archit_codemod."
        ) from error
    sources = standaloneSources(model)
    return {**sources.copies, f"{ENTRY_MODULE}.py": sources.entry_module}


def autoMapOf(task_class_name: str, auto_classes: tuple[str, ...]) -> dict[str, str]:
    """``auto_map`` of a standalone folder: ``AutoConfig``, ``AutoModel`` and the task's own auto classes."""
    auto_map = {"AutoConfig": f"{ENTRY_MODULE}.CombinedConfig"}
    for auto_class in (*auto_classes, "AutoModel"):
        auto_map[auto_class] = f"{ENTRY_MODULE}.{task_class_name}"
    return auto_map


def writeStandaloneFiles(
    directory: str | os.PathLike, files: dict[str, str], auto_map: dict[str, str]
) -> None:
    """Write ``files`` into a folder that ``save_pretrained`` just wrote, and set ``auto_map`` in its
    ``config.json``."""
    directory = Path(directory)
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    config_path = directory / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["auto_map"] = auto_map
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


class SavesStandaloneFolders:
    """``save_pretrained(folder, standalone=True)`` for a ``ModelWithHead`` (listed before ``PreTrainedModel`` among
    its bases, whose ``save_pretrained`` it extends; the auto classes in ``auto_map`` are the task's
    ``auto_classes``)."""

    def save_pretrained(
        self, save_directory: str | os.PathLike, *args: Any, standalone: bool = False, **kwargs: Any
    ) -> None:
        """transformers' ``save_pretrained``. With ``standalone=True``, the folder also holds the source of the
        model's classes (see this module), so that ``AutoModelFor<Task>.from_pretrained(folder,
        trust_remote_code=True)`` rebuilds the model where this package is not installed. A model loaded from such a
        folder saves as one again."""
        files = standaloneFilesOf(self) if standalone or runsAsStandaloneCopy() else None
        if files is not None and kwargs.get("push_to_hub"):
            raise ValueError(
                "save_pretrained(..., push_to_hub=True) would upload the folder before the standalone files are "
                "written. Fix: save first, then upload the folder (huggingface_hub.upload_folder), or call "
                "model.push_to_hub(...) on a model loaded from a standalone folder."
            )
        super().save_pretrained(save_directory, *args, **kwargs)
        is_main_process = args[0] if args else kwargs.get("is_main_process", True)
        if files is not None and is_main_process:
            writeStandaloneFiles(
                save_directory, files, autoMapOf(type(self).__name__, type(self).auto_classes)
            )

    def classesToShare(self) -> list[type]:
        """The classes that rebuilding this model from its config imports (the config names them by import path),
        which a standalone folder must hold the source of: the task, base-model, head-config and head classes."""
        return [type(self), type(self.model), type(self.config.head_config), type(self.head)]
