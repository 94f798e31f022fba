"""Declare a library call the script made by making the same call at the end of the model's ``__init__``.

``get_peft_model(model, config)`` builds a LoRA layer in every targeted projection; ``prune.l1_unstructured(
module, "weight", amount=0.3)`` adds a mask, a reparametrised weight and a hook; ``layer.register_forward_hook(f)``
adds a hook. What such a call built is declared by the call itself, as a maintainer of the library would write
it: the generated class of the root runs it on ``self`` once its own ``__init__`` is done.

A call is declared this way when it built something itself: a module it constructed, or a tensor or hook it
registered. A call that only placed a module the script built (``model.set_input_embeddings(embedding)``) is
declared as a change of that module's owner instead, where the original ``__init__`` builds it.

Some library calls return a new object instead of changing their argument; their in-place form is used
(:data:`IN_PLACE_FORMS`).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import libcst as cst
import torch
from torch import nn

from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.records import LibraryCall, Trace
from archit_codemod.declaration.rendering.render import RenderContext, Renderer
from archit_codemod.declaration.rendering.written import CallSite, Written
from archit_codemod.declaration.tracing.changes import Changes, changes_without


@dataclass(frozen=True)
class InPlaceForm:
    """How to make a call that returns a new model change its argument instead.

    ``function`` names the replacement (``module:qualified name``; ``None`` keeps the function), ``arguments``
    maps the replacement's parameters to the original call's (in the replacement's order), ``fixed`` gives
    values of its own.
    """

    function: str | None
    arguments: tuple[tuple[str, str], ...] = ()
    fixed: tuple[tuple[str, Any], ...] = ()


IN_PLACE_FORMS: dict[str, InPlaceForm] = {
    # PeftModel wraps the model it injects adapters into; inject_adapter_in_model is PEFT's in-place API.
    "peft.mapping_func:get_peft_model": InPlaceForm(
        "peft:inject_adapter_in_model",
        (("peft_config", "peft_config"), ("model", "model"), ("adapter_name", "adapter_name")),
    ),
    "torch.ao.quantization.quantize:quantize_dynamic": InPlaceForm(None, fixed=(("inplace", True),)),
}


def replayed_calls(trace: Trace, changes: Changes) -> list[LibraryCall]:
    """The library calls that changed the model with modules they built themselves (``get_peft_model``)."""
    calls: dict[LibraryCall, None] = {}
    for owner_changes in changes.values():
        for change in owner_changes.values():
            call = change.first.call
            built = trace.call_of(change.new) if change.new is not None else None
            if call is not None and built is not None and built.within is call:
                calls[call] = None
    return list(calls)


def is_replayable(call: LibraryCall, modules: Collection[nn.Module]) -> bool:
    """Whether ``call`` can be made again on the root whose ``modules`` these are: a method of one of them, or a
    named function that received one of them."""
    if call.receiver is not None:
        return isinstance(call.receiver, nn.Module) and call.receiver in modules
    return call.function is not None and any(module in modules for module in modules_in(call.arguments))


def modules_in(value: Any) -> Iterator[nn.Module]:
    """The modules in ``value`` and in the lists, tuples, sets and dicts it holds."""
    if isinstance(value, nn.Module):
        yield value
    elif isinstance(value, list | tuple | set):
        for item in value:
            yield from modules_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from modules_in(item)


def without_replayed(changes: Changes, replayed: list[LibraryCall]) -> Changes:
    """``changes`` without those the replayed calls make (the replay makes them again)."""
    calls = set(replayed)
    return changes_without(changes, lambda change: change.first.call in calls)


@dataclass(frozen=True)
class Replay:
    """A library call made again: the statement, and the function it calls (by which a failure is recognised)."""

    statement: cst.SimpleStatementLine
    calls: Callable[..., Any] | None


def replay_statement(
    call: LibraryCall, root: nn.Module, renderer: Renderer, context: RenderContext, attached: set[nn.Module]
) -> Replay:
    """``call`` made again on ``root`` as ``self``: ``inject_adapter_in_model(LoraConfig(r=4, ...), self)``.

    A module of the model is referred to by its path (``self.encoder.layer[0]``), except those the call itself
    attached (``attached``: ``Symmetric()`` given to ``register_parametrization``), which are built again.

    Raises:
        DeclarationError: the called function cannot be named, or an argument cannot be written back.
    """
    paths = {
        module: path for path, module in root.named_modules(remove_duplicate=False) if module not in attached
    }
    function, arguments = _in_place(call)
    where = f"{context.path or '<root>'}: the call of {call.name} at {call.filename}:{call.lineno}"
    context = dataclasses.replace(context, references=ModuleReferences(paths))

    saved = _saved_tensors(root)
    site = _site(call)

    def render(value: Any, parameter: str) -> cst.BaseExpression:
        if isinstance(value, torch.Tensor) and _storage(value) in saved:
            # Values are data: the checkpoint holds this tensor's, the class declares its shape and dtype.
            return _placeholder(value, renderer, where)
        if _holds_weights(value):
            raise DeclarationError(
                f"{where}: its argument {parameter!r} holds weights ({type(value).__qualname__} of tensors), so the "
                "call loads values, which the checkpoint carries, and is not made again as architecture. Fix: make "
                "the structure in the script with the calls that build it (quantize(...), freeze(...), the modules' "
                "constructors), then load the weights into that model; the generated class declares the structure."
            )
        written = Written(site, parameter.lstrip("*")) if site is not None else None
        return renderer.value(value, dataclasses.replace(context, written=written), parameter)

    if call.receiver is not None:
        if call.receiver not in paths:
            raise DeclarationError(
                f"{where} was made on a {type(call.receiver).__qualname__} that is not part of the model. Fix: make "
                "the change on a module of the model."
            )
        callee: cst.BaseExpression = cst.Attribute(
            module_expression(paths[call.receiver]), cst.Name(call.name)
        )
        called = replayed_function(call)
    elif function is None:
        raise DeclarationError(
            f"{where}: the function it ran cannot be named (a closure, a lambda, or the wrapper a decorator "
            "such as `deprecated` puts around a library function), so the generated class cannot call it again. "
            "Fix: call a function defined at the top level of an importable module, or make this change after "
            "building the model, in your own code (the checkpoint does not hold it)."
        )
    else:
        callee = renderer.names.reference(function, where)
        called = function
    rendered = [
        _argument(name, value, positional, render) for name, value, positional in _passed(function, arguments)
    ]
    statement = cst.SimpleStatementLine([cst.Expr(cst.Call(callee, _with_commas(rendered)))])
    return Replay(statement, called)


def _site(call: LibraryCall) -> CallSite | None:
    """The script's call ``call`` records, where its arguments were written (``None`` when it names no line)."""
    if not call.filename:
        return None
    method = call.receiver is not None
    callee = getattr(type(call.receiver), call.name, None) if method else call.function
    return CallSite(call.filename, call.lineno, callee, call.name, method=method)


def module_expression(path: str) -> cst.BaseExpression:
    """``self.encoder.layer[0].attention`` for the path ``encoder.layer.0.attention``."""
    expression: cst.BaseExpression = cst.Name("self")
    for part in path.split(".") if path else []:
        if part.isidentifier():
            expression = cst.Attribute(expression, cst.Name(part))
        else:
            index = cst.Integer(part) if part.isdigit() else cst.SimpleString(repr(part))
            expression = cst.Subscript(expression, [cst.SubscriptElement(cst.Index(index))])
    return expression


class ModuleReferences(Mapping[nn.Module, cst.BaseExpression]):
    """Each module of ``paths`` (module -> its path from ``self``) as :func:`module_expression` writes it, built
    when asked: a value refers to few of a model's hundreds of modules."""

    def __init__(self, paths: Mapping[nn.Module, str]) -> None:
        self._paths = paths

    def __getitem__(self, module: nn.Module) -> cst.BaseExpression:
        return module_expression(self._paths[module])

    def __iter__(self) -> Iterator[nn.Module]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)


def _holds_weights(value: Any) -> bool:
    """Whether ``value`` is a mapping of names to tensors (a ``state_dict``)."""
    return (
        isinstance(value, Mapping)
        and bool(value)
        and all(isinstance(key, str) and isinstance(item, torch.Tensor) for key, item in value.items())
    )


def _saved_tensors(root: nn.Module) -> set[tuple[int, int]]:
    """Where the tensors ``root``'s ``state_dict`` holds keep their values (storage address and offset)."""
    return {
        _storage(tensor)
        for tensor in root.state_dict(keep_vars=True).values()
        if tensor.device.type != "meta"
    }


def _storage(tensor: torch.Tensor) -> tuple[int, int]:
    """The place of ``tensor``'s values: a tensor registered as given, or wrapped in an ``nn.Parameter``, shares it."""
    if tensor.device.type == "meta":
        return (id(tensor), -1)
    try:
        return (tensor.untyped_storage().data_ptr(), tensor.storage_offset())
    except RuntimeError:  # a wrapper subclass (torchao's quantized tensors) keeps its values in inner tensors
        return (id(tensor), -1)


def _placeholder(tensor: torch.Tensor, renderer: Renderer, where: str) -> cst.BaseExpression:
    """``torch.empty(32, dtype=torch.float32)``: a tensor of ``tensor``'s shape and dtype, to be loaded."""
    torch_name = cst.Module([]).code_for_node(renderer.names.reference(torch, where))
    shape = ", ".join(str(size) for size in tensor.shape) or "()"
    dtype = str(tensor.dtype).removeprefix("torch.")
    return cst.parse_expression(f"{torch_name}.empty({shape}, dtype={torch_name}.{dtype})")


def replayed_function(call: LibraryCall) -> Callable[..., Any] | None:
    """The function a generated class calls to make ``call`` again: its in-place form, or the receiver's method."""
    if call.receiver is not None:
        return getattr(type(call.receiver), call.name, None)
    return _in_place(call)[0]


def _in_place(call: LibraryCall) -> tuple[Callable[..., Any] | None, dict[str, Any]]:
    function = call.function
    if function is None:
        return None, dict(call.arguments)
    form = IN_PLACE_FORMS.get(
        f"{getattr(function, '__module__', '')}:{getattr(function, '__qualname__', '')}"
    )
    if form is None:
        return function, dict(call.arguments)
    arguments = dict(call.arguments)
    if form.function is not None:
        module_name, _, qualname = form.function.partition(":")
        function = getattr(__import__(module_name, fromlist=[qualname]), qualname)
        arguments = {new: call.arguments[old] for new, old in form.arguments if old in call.arguments}
    arguments.update(form.fixed)
    return function, arguments


def _passed(function: Callable[..., Any] | None, arguments: dict[str, Any]) -> list[tuple[str, Any, bool]]:
    """``(name, value, positional)`` of each argument to pass, in the function's order: the required ones
    positionally, the others by keyword, those equal to their default left out."""
    try:
        parameters = inspect.signature(function).parameters if function is not None else {}
    except (TypeError, ValueError):
        parameters = {}
    passed = []
    positional = True
    for name, value in arguments.items():
        parameter = parameters.get(name.lstrip("*"))
        if name.startswith("*"):
            if value:
                passed.append((name, value, False))
            continue
        if parameter is not None and parameter.default is not inspect.Parameter.empty:
            positional = False
            if _same(value, parameter.default):
                continue
        elif parameter is None or parameter.kind is inspect.Parameter.KEYWORD_ONLY:
            positional = False
        passed.append((name, value, positional))
    return passed


def _argument(
    name: str, value: Any, positional: bool, render: Callable[[Any, str], cst.BaseExpression]
) -> cst.Arg:
    if name.startswith("**"):
        return cst.Arg(render(value, name[2:]), star="**")
    if name.startswith("*"):
        return cst.Arg(render(value, name[1:]), star="*")
    if positional:
        return cst.Arg(render(value, name))
    return cst.Arg(render(value, name), keyword=cst.Name(name), equal=_TIGHT_EQUAL)


_TIGHT_EQUAL = cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace(""))


def _with_commas(items: list[cst.Arg]) -> list[cst.Arg]:
    return [
        item.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for item in items[:-1]
    ] + items[-1:]


def _same(a: Any, b: Any) -> bool:
    try:
        return a is b or (type(a) is type(b) and bool(a == b))
    except Exception:  # tensors and other values without a plain equality
        return False


def attached_by(call: LibraryCall, trace: Trace) -> set[nn.Module]:
    """Every module inside a module that ``call`` attached to the model."""
    return {
        module
        for modification in trace.modifications
        if modification.call is call and modification.new is not None
        for module in modification.new.modules()
    }
