"""Which models a traced script modified: the roots the codemod declares classes for."""

from __future__ import annotations

from torch import nn

from archit_codemod.declaration.errors import NothingModifiedError
from archit_codemod.declaration.records import Trace

__all__ = ["find_roots", "paths_index", "paths_to"]


def paths_to(root: nn.Module, module: nn.Module) -> list[str]:
    """Every dotted path under which ``module`` is reachable from ``root`` (``""`` for ``root`` itself).

    A module shared by several parents has several paths; the list is empty when it is not attached.
    """
    return [path for path, candidate in root.named_modules(remove_duplicate=False) if candidate is module]


def paths_index(root: nn.Module) -> dict[int, list[str]]:
    """``id(module)`` -> :func:`paths_to` ``(root, module)`` for every module under ``root``, in one walk.

    Looking up many modules this way costs one walk of the tree, not one walk per module (every layer of a
    deep model).
    """
    index: dict[int, list[str]] = {}
    for path, module in root.named_modules(remove_duplicate=False):
        index.setdefault(id(module), []).append(path)
    return index


def _contained_ids(root: nn.Module) -> set[int]:
    return {id(module) for _, module in root.named_modules(remove_duplicate=False)}


def _modified_owners(trace: Trace) -> list[nn.Module]:
    owners: dict[int, nn.Module] = {}
    for modification in trace.modifications:
        owners.setdefault(id(modification.owner), modification.owner)
    return list(owners.values())


def find_roots(trace: Trace, model_name: str | None = None) -> dict[str, nn.Module]:
    """The root models to declare, by name.

    With ``model_name``, the script global of that name, which must be a module containing a modified
    module. Otherwise every modified root model: each module-valued global of the script that contains
    (at any path) the owner of a modification, except globals contained in another such global; a
    modified module reachable from no global (a model kept in a local variable) is declared through
    its topmost traced ancestor, named after that ancestor's class.

    Raises:
        NothingModifiedError: nothing was modified, or ``model_name`` names no such module.
    """
    owners = _modified_owners(trace)
    if not owners:
        raise NothingModifiedError(
            "the script modified no module: no submodule was assigned, replaced, set to None or deleted "
            "after its model was built. Change the model in the script (e.g. "
            "`model.encoder.layer[0] = MyLayer(config)`), then run archit_codemod on it again."
        )
    owner_ids = {id(owner) for owner in owners}
    globals_ = {name: value for name, value in trace.namespace.items() if isinstance(value, nn.Module)}

    if model_name is not None:
        return {model_name: _named_model(globals_, model_name, owner_ids)}

    roots, reached = _roots_among_globals(globals_, trace, owner_ids)
    for top in _tops_no_global_reaches(trace, reached, owner_ids):
        roots[_unique_name(type(top).__name__, roots)] = top
    if not roots:
        raise NothingModifiedError(
            "the script modified only modules that are no longer part of any model (they were replaced "
            "or deleted afterwards), so there is nothing to declare."
        )
    return roots


def _roots_among_globals(
    globals_: dict[str, nn.Module], trace: Trace, owner_ids: set[int]
) -> tuple[dict[str, nn.Module], set[int]]:
    """The outermost script globals that contain a modified owner (unwrapped), and the ids of all they contain."""
    # Script globals containing a modified owner, the first name of each object kept.
    candidates: dict[str, nn.Module] = {}
    contents: dict[str, set[int]] = {}
    for name, module in globals_.items():
        if any(module is kept for kept in candidates.values()):
            continue
        contained = _contained_ids(module)
        if owner_ids & contained:
            candidates[name] = module
            contents[name] = contained
    roots = {
        name: _unwrapped(module, trace, owner_ids)
        for name, module in candidates.items()
        if not any(other != name and id(module) in contents[other] for other in candidates)
    }
    roots = {_global_name(module, globals_, name): module for name, module in roots.items()}
    # A wrapper unwrapped may leave a model that another root contains (a SentenceTransformer's encoder).
    inside = {name: _contained_ids(module) for name, module in roots.items()}
    roots = {
        name: module
        for name, module in roots.items()
        if not any(other != name and id(module) in inside[other] for other in roots)
    }
    return roots, set().union(*contents.values())


def _tops_no_global_reaches(trace: Trace, reached: set[int], owner_ids: set[int]) -> list[nn.Module]:
    """The topmost traced modules that hold a modified owner no script global reaches (a model in a local)."""
    unreached = [(top, _contained_ids(top)) for top in trace.traced_roots if id(top) not in reached]
    tops = []
    for top, contained in unreached:
        inside_another = any(other is not top and id(top) in others for other, others in unreached)
        # Skip a top whose modified modules were all detached from it since.
        if not inside_another and owner_ids & contained:
            tops.append(top)
    return tops


def _named_model(globals_: dict[str, nn.Module], model_name: str, owner_ids: set[int]) -> nn.Module:
    """The script global ``model_name``, which must contain a modified module."""
    model = globals_.get(model_name)
    if model is None:
        found = ", ".join(sorted(globals_)) or "none"
        raise NothingModifiedError(
            f"--model {model_name}: the script has no global module named {model_name!r}. "
            f"Module globals it defines: {found}."
        )
    if not owner_ids & _contained_ids(model):
        raise NothingModifiedError(
            f"--model {model_name}: the script modified no module of {model_name!r} "
            f"({type(model).__name__}). Omit --model to declare every modified model."
        )
    return model


def _unwrapped(root: nn.Module, trace: Trace, owner_ids: set[int]) -> nn.Module:
    """The model that a library's wrapper was built around, when every modified module is in it.

    ``peft_model = get_peft_model(model, config)`` builds ``PeftModel(model, ...)``: the model the user modified is
    ``model``, and the wrapper is the library's, not the user's. A wrapper class of the script is the user's own
    model and stays the root.
    """
    while type(root).__module__ != trace.script_module_name:
        call = trace.call_of(root)
        if call is None:
            break
        contained = _contained_ids(root)
        modified = owner_ids & contained
        inner = [
            value
            for value in (*call.args, *call.kwargs.values())
            if isinstance(value, nn.Module) and id(value) in contained and modified <= _contained_ids(value)
        ]
        if len(inner) != 1 or inner[0] is root:
            break
        root = inner[0]
    return root


def _global_name(module: nn.Module, globals_: dict[str, nn.Module], fallback: str) -> str:
    """The script's name for ``module`` (the first global bound to it), else ``fallback``."""
    return next((name for name, value in globals_.items() if value is module), fallback)


def _unique_name(name: str, taken: dict[str, nn.Module]) -> str:
    candidate, number = name, 2
    while candidate in taken:
        candidate, number = f"{name}_{number}", number + 1
    return candidate
