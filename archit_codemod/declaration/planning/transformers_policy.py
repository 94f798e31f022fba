"""What a generated transformers model class must say besides its ``__init__``: ties and device-map units.

transformers reads a few class attributes and methods that name submodules: ``_tied_weights_keys`` and
``get_output_embeddings`` (which parameters ``tie_weights`` makes one tensor) and ``_no_split_modules`` (which
classes ``device_map="auto"`` keeps on one device). When the traced change replaced what they name, the
generated class overrides them so that loading the model rebuilds what was traced. This module also decides when
one module object placed at several paths may be declared as separate modules: when the model ties their weights.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import libcst as cst
import torch
from torch import nn

from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.planning.naming import ClassNamer
from archit_codemod.declaration.planning.plan import ClassMember, Edit, ReplaceValue
from archit_codemod.declaration.planning.statements import InitStatements
from archit_codemod.declaration.planning.walk import join
from archit_codemod.declaration.pretrained import is_pretrained_model
from archit_codemod.declaration.records import LibraryCall
from archit_codemod.declaration.tracing.changes import Changes


def class_members(
    module: nn.Module, path: str, changes: Changes, namer: ClassNamer
) -> tuple[ClassMember, ...]:
    """The members the generated class of ``module`` adds: tie overrides, ``_no_split_modules``, methods.

    ``namer`` knows the generated class of each module planned so far.
    """
    if not is_pretrained_model(module):
        return ()
    members = _tie_members(module, path, changes)
    members += _no_split_override(module, namer)
    return tuple(members)


def _changed_prefixes(module: nn.Module, changes: Changes) -> list[str]:
    """Paths, relative to ``module``, of every child that changed below it."""
    prefixes = []
    for sub_path, sub in module.named_modules(remove_duplicate=False):
        for name in changes.get(sub, {}):
            prefixes.append(join(sub_path, name))
    return prefixes


@dataclass(frozen=True)
class TieOverrides:
    """What a generated model class says about ties, where it differs from its original class."""

    tied_weights_keys: dict | list | None = None
    """``_tied_weights_keys`` without the ties of replaced modules; ``None`` when the class's own stand."""
    no_output_embeddings: bool = False
    """``get_output_embeddings`` reports none: the input embeddings no longer tie to the output layer."""
    input_weight: str | None = None
    written_out: tuple[str, ...] = ()
    """The pattern keys of the original ``_tied_weights_keys`` that ``tied_weights_keys`` writes out as tensor names."""


def tie_overrides(module: nn.Module, path: str, changes: Changes) -> TieOverrides:
    """``_tied_weights_keys`` without the ties of replaced modules that the traced model does not share, and
    ``get_output_embeddings`` reporting none when the input embeddings no longer tie to the output layer."""

    changed = _changed_prefixes(module, changes) if is_pretrained_model(module) else []
    if not changed:
        return TieOverrides()
    tensors = dict(module.named_parameters(remove_duplicate=False))
    tensors.update(module.named_buffers(remove_duplicate=False))

    def touches(name: str) -> bool:
        return any(name == prefix or name.startswith(prefix + ".") for prefix in changed)

    def shared(target: str, source: str) -> bool:
        return target in tensors and source in tensors and tensors[target] is tensors[source]

    output_weight, input_weight, embeddings_broken = _embedding_tie(module, touches)
    # Marian sets the mapping on the instance in __init__ for some configs: that one is what post_init reads.
    ties = vars(module).get("_tied_weights_keys", getattr(type(module), "_tied_weights_keys", None))
    kept: dict | list | None = None
    if isinstance(ties, dict):
        kept = {}
        for target, source in ties.items():
            plain = _is_plain_parameter_name(target) and _is_plain_parameter_name(source)
            if plain and (touches(target) or touches(source)) and not shared(target, source):
                # The replaced module keeps weights of its own, as traced; a kept tensor that shared the replaced
                # one still shares with the others that did (T5Gemma2's lm_head with the decoder's embeddings).
                # The first of them stands for the group, so that no two of them name each other.
                group = [name for name in tensors if shared(target, name) and not touches(name)]
                if group and group[0] != target and not touches(target):
                    kept[target] = group[0]
                continue
            kept[target] = source
    elif isinstance(ties, list | tuple):
        kept = []
        for target in ties:
            if _is_plain_parameter_name(target):
                if target not in tensors:
                    continue
                if target == output_weight and embeddings_broken:
                    continue
            kept.append(target)
    if kept is not None and kept == (dict(ties) if isinstance(ties, dict) else list(ties)):
        kept = None
    written_out: tuple[str, ...] = ()
    if isinstance(kept, dict):
        kept, written_out = _patterns_expanded(kept, tensors, shared)
    return TieOverrides(kept, embeddings_broken, input_weight, written_out)


def _patterns_expanded(
    kept: dict[str, str], tensors: dict[str, torch.Tensor], shared: Callable[[str, str], bool]
) -> tuple[dict[str, str], tuple[str, ...]]:
    """``kept`` with each pattern entry replaced by the tensor names it ties in the traced model; the patterns.

    transformers reads a mapping whose every entry looks like a tensor name as literal names (its check for that
    passes ``"embeddings.word_embeddings.weight$"``, IBert's), and expands patterns only otherwise: dropping a plain
    entry can turn the patterns left into names no tensor has. Written out, they mean the same either way.
    """
    if all(_is_plain_parameter_name(name) for name in (*kept, *kept.values())):
        return kept, ()
    names = sorted(tensors)
    expanded: dict[str, str] = {}
    written_out = []
    for target, source in kept.items():
        if _is_plain_parameter_name(target) and _is_plain_parameter_name(source):
            expanded[target] = source
            continue
        targets = [name for name in names if re.search("^" + target, name)]
        sources = [name for name in names if re.search("^" + source, name)]
        if not sources or len(targets) % len(sources):
            expanded[target] = source  # not a tie of the traced model: verification compares what it ties
            continue
        pairs = {t: s for t, s in zip(targets, itertools.cycle(sources)) if shared(t, s)}
        if pairs:
            written_out.append(target)
            expanded.update(pairs)
    return expanded, tuple(written_out)


def instance_tie_edits(
    module: nn.Module, members: Sequence[ClassMember], statements: InitStatements
) -> list[Edit]:
    """``self._tied_weights_keys = {...}`` in the copied ``__init__`` (MarianMTModel's, when it shares its
    embeddings) assigning the mapping of the generated class's ``_tied_weights_keys`` member: set on the instance,
    the original mapping hides the class's before ``post_init`` reads it."""
    if "_tied_weights_keys" not in vars(module):
        return []
    member = next((m for m in members if m.name == "_tied_weights_keys"), None)
    if member is None:
        return []
    value = member.statement.body[0].value
    return [ReplaceValue(s, "_tied_weights_keys", value) for s in statements.assigning("_tied_weights_keys")]


def _tie_members(module: nn.Module, path: str, changes: Changes) -> list[ClassMember]:
    overrides = tie_overrides(module, path, changes)
    members: list[ClassMember] = []
    if overrides.tied_weights_keys is not None:
        ties = vars(module).get("_tied_weights_keys", type(module)._tied_weights_keys)
        statement = _tied_keys_statement(overrides.tied_weights_keys, ties, overrides.written_out)
        members.append(ClassMember("_tied_weights_keys", statement))
    if overrides.no_output_embeddings:
        members.append(
            ClassMember("get_output_embeddings", _no_output_embeddings_method(overrides.input_weight))
        )
    return members


def _embedding_tie(module: nn.Module, touches: Callable[[str], bool]) -> tuple[str | None, str | None, bool]:
    """``(output weight name, input weight name, broken)`` of ``config.tie_word_embeddings`` tying."""
    config = getattr(module, "config", None)
    if config is None or not getattr(config, "tie_word_embeddings", False):
        return None, None, False
    try:
        output_embeddings = module.get_output_embeddings()
        input_embeddings = module.get_input_embeddings()
    except (NotImplementedError, AttributeError):
        return None, None, False
    if output_embeddings is None or input_embeddings is None:
        return None, None, False
    paths = {id(sub): name for name, sub in module.named_modules(remove_duplicate=False)}
    output_path, input_path = paths.get(id(output_embeddings)), paths.get(id(input_embeddings))
    if output_path is None or input_path is None:
        return None, None, False
    output_weight, input_weight = f"{output_path}.weight", f"{input_path}.weight"
    if not (touches(input_weight) or touches(output_weight)):
        return output_weight, input_weight, False
    output_tensor = getattr(output_embeddings, "weight", None)
    input_tensor = getattr(input_embeddings, "weight", None)
    # Untied as traced: another shape, no weight, or a weight of its own (a new head left untied).
    broken = not (
        isinstance(input_tensor, nn.Parameter)
        and isinstance(output_tensor, nn.Parameter)
        and input_tensor is output_tensor
    )
    return output_weight, input_weight, broken


def _no_split_override(module: nn.Module, namer: ClassNamer) -> list[ClassMember]:
    """``_no_split_modules`` listing the generated versions (and subclasses) of the classes it lists.

    transformers and accelerate match these names against each submodule's class name: a generated
    ``BertLayerModified`` must be listed beside ``BertLayer`` or ``device_map="auto"`` may split it. A new class that
    is no subclass of a listed one (a wrapper of a leaf module) needs no listing.
    """
    listed = getattr(type(module), "_no_split_modules", None)
    if not listed or not isinstance(listed, list | tuple | set):
        return []
    added = set()
    for sub in module.modules():
        # A generated class, or a class of the script's subclassing a listed one (a replaced layer).
        plan = namer.plan_of(sub)
        cls, name = (plan.original, plan.name) if plan is not None else (type(sub), type(sub).__name__)
        if name not in listed and any(klass.__name__ in listed for klass in cls.__mro__):
            added.add(name)
    if not added:
        return []
    names = sorted(listed) if isinstance(listed, set) else list(listed)
    statement = cst.parse_statement(f"_no_split_modules = {json.dumps([*names, *sorted(added)])}\n")
    comment = "# device_map must not split the new layer classes either."
    return [
        ClassMember(
            "_no_split_modules",
            statement.with_changes(
                leading_lines=[cst.EmptyLine(indent=False), cst.EmptyLine(comment=cst.Comment(comment))]
            ),
        )
    ]


def _is_plain_parameter_name(name: str) -> bool:
    return all(part.isidentifier() or part.isdigit() for part in name.split("."))


def _tied_keys_statement(
    kept: dict | list, original: dict | list | tuple, written_out: tuple[str, ...]
) -> cst.BaseStatement:
    dropped = [k for k in original if k not in kept and k not in written_out]
    moved = [k for k in original if k in kept and isinstance(original, dict) and kept[k] != original[k]]
    comments = []
    if dropped:
        comments.append(f"# {', '.join(dropped)}: no longer tied, the module it named was replaced.")
    if moved:
        comments.append(
            f"# {', '.join(moved)}: tied to what still shares it, the module it named was replaced."
        )
    if written_out:
        comments.append(
            f"# {', '.join(written_out)}: written out as the tensor names it ties (a mapping of names is read literally)."
        )
    statement = cst.parse_statement(f"_tied_weights_keys = {json.dumps(kept)}\n")
    return statement.with_changes(
        leading_lines=[
            cst.EmptyLine(indent=False),
            *(cst.EmptyLine(comment=cst.Comment(c)) for c in comments),
        ]
    )


def _no_output_embeddings_method(input_weight: str | None) -> cst.BaseStatement:
    embeddings = input_weight.rsplit(".", 1)[0] if input_weight else "the input embeddings"
    method = cst.parse_statement(
        "def get_output_embeddings(self):\n"
        f"    # {embeddings} and the output layer do not share their weight in the traced model:\n"
        "    # report no output embeddings, so that config.tie_word_embeddings ties nothing to it.\n"
        "    return None\n"
    )
    return method.with_changes(leading_lines=[cst.EmptyLine(indent=False)])


# -- one module object at several paths ---------------------------------------------------------------------


def refuse_shared_modules(root: nn.Module, changes: Changes) -> tuple[str, ...]:
    """Refuse a changed module that is reachable at two paths of ``root`` (a module object shared by two owners);
    the warnings for those the model's own classes tie.

    Generated ``__init__`` methods build each attribute with a call of its own, so declaring a shared module would
    silently give two modules with separate weights, unless the model's own classes tie those weights.
    """
    warnings = []
    for change, inner, where in _shared_replacements(root, changes):
        if _declared_as_tied(root, inner, where):
            # BART's set_input_embeddings shares one module as shared/encoder/decoder embeddings; the
            # model's own code ties their weights, so separate modules with tied weights are the same model
            # (verification checks that the weights are shared).
            warnings.append(
                f"{', '.join(where)} are one {type(inner).__qualname__} object in the traced model; the "
                "generated classes build one module per path, whose weights the model's classes tie "
                "(_tied_weights_keys)."
            )
            continue
        raise DeclarationError(
            f"{where[0]} and {where[1]} are the same {type(inner).__qualname__} object (a module shared "
            f"by two owners; the change was made at {change.where}). The generated __init__ methods build "
            "each attribute with a constructor call of its own, so they would build two modules with "
            "separate weights. Fix: give each owner a module of its own (copy.deepcopy), or share the "
            "weights in the model's code (tied weights)."
        )
    return tuple(warnings)


def calls_sharing_modules(root: nn.Module, changes: Changes) -> list[LibraryCall]:
    """The library calls on ``root`` that placed one new module at several paths, which the model's classes do not
    tie (T5's ``set_input_embeddings`` gives one embedding to ``shared`` and to both stacks): made again after
    ``__init__``, they share it again, where building a module per path could not."""
    calls: dict[int, LibraryCall] = {}
    modules = {id(module) for module in root.modules()}
    for change, inner, where in _shared_replacements(root, changes):
        call = change.first.call
        if call is None or _declared_as_tied(root, inner, where) or id(call) in calls:
            continue
        placed = [c for owner in changes.values() for c in owner.values() if c.new is not None]
        at_paths = [c for c in placed if any(sub is inner for sub in c.new.modules())]
        received = call.receiver if call.receiver is not None else None
        if all(c.first.call is call for c in at_paths) and received is not None and id(received) in modules:
            calls[id(call)] = call
    return list(calls.values())


def _shared_replacements(root: nn.Module, changes: Changes):
    """``(change, module, paths)`` for each module inside a change's new module that ``root`` holds at several
    paths."""
    paths: dict[int, list[str]] = {}
    for sub_path, sub in root.named_modules(remove_duplicate=False):
        paths.setdefault(id(sub), []).append(sub_path or "<root>")
    for owner_changes in changes.values():
        for change in owner_changes.values():
            if change.new is None or id(change.new) not in paths:
                continue
            for inner in change.new.modules():
                where = paths.get(id(inner), [])
                if len(where) > 1:
                    yield change, inner, where


def _declared_as_tied(root: nn.Module, module: nn.Module, paths: list[str]) -> bool:
    """Whether the model's classes tie every parameter of ``module`` at all of ``paths`` but one.

    Only when the module holds nothing but those parameters (a buffer would be duplicated, not shared).
    """

    if len(list(module.buffers())) or not len(list(module.parameters())):
        return False
    models = [
        (prefix, sub)
        for prefix, sub in root.named_modules(remove_duplicate=False)
        if is_pretrained_model(sub)
    ]

    tied_names = {id(model): _tied_parameter_names(model) for _, model in models}

    def tied(name: str) -> bool:
        for prefix, model in models:
            if prefix and not name.startswith(prefix + "."):
                continue
            relative = name[len(prefix) + 1 :] if prefix else name
            if relative in tied_names[id(model)]:
                return True
        return False

    parameters = [name for name, _ in module.named_parameters()]
    untied = [path for path in paths if not all(tied(f"{path}.{name}") for name in parameters)]
    return len(untied) <= 1


def _tied_parameter_names(model: nn.Module) -> set[str]:
    """The names of the parameters ``model``'s ties make another's (the targets of ``_tied_weights_keys``).

    transformers 5 expands keys that are patterns or module paths over the parameters the model has now
    (``get_expanded_tied_weights_keys``: Zamba ties every parameter under each hybrid layer's block); otherwise, and
    where the expansion fails, the keys as written: an instance attribute when they depend on the config
    (Marian), else the class attribute.
    """
    expand = getattr(model, "get_expanded_tied_weights_keys", None)
    if expand is not None:
        try:
            return set(expand(all_submodels=False))
        except (ValueError, AttributeError, TypeError):
            pass
    return set(getattr(model, "_tied_weights_keys", None) or ())
