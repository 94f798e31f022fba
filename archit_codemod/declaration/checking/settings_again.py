"""Plain settings the script changed on a module after building it, found by verification, set again.

The completeness check compares each root with its original class, so it finds the settings the script changed on
modules that class builds (``module.p = 0.0``). A module the script or a library built in place of one (a PEFT
LoRA layer) is compared only with what the generated code builds, in verification: a setting changed after it was
built (``disable_adapter_layers()`` sets ``_disable_adapters``, ``merge_adapter()`` fills ``merged_adapters``)
differs there. When settings with literal values are all that differs, the generated class sets them again at the
end of the root's ``__init__``, like the settings the completeness check finds.
"""

from __future__ import annotations

from collections.abc import Mapping

from torch import nn

from archit_codemod.declaration.checking.completeness import literal_setting
from archit_codemod.declaration.errors import VerificationError
from archit_codemod.declaration.records import SettingChange

__all__ = ["settings_to_set_again"]


def settings_to_set_again(
    failure: VerificationError, roots: Mapping[str, nn.Module]
) -> tuple[str, list[SettingChange]] | None:
    """The root ``failure`` is about and the settings its generated class must set again, when every difference
    ``failure`` found is a setting the traced module holds as a literal; ``None`` otherwise."""
    if failure.root_name not in roots or not failure.differences:
        return None
    root = roots[failure.root_name]
    settings = []
    for difference in failure.differences:
        if difference.kind != "setting":
            return None
        try:
            module = root.get_submodule(difference.path)
        except AttributeError:
            return None
        setting = literal_setting(module, difference.path, difference.name)
        if setting is None:
            return None
        settings.append(setting)
    return failure.root_name, settings
