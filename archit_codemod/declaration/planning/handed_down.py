"""Children built by one module's ``__init__`` and handed to the constructor of another, which only stores them.

``SpeechT5ForSpeechToText.__init__`` builds ``text_decoder = SpeechT5DecoderWithTextPrenet(config)`` and passes it
to ``SpeechT5Model(config, encoder, text_decoder)``, whose ``__init__`` stores it as
``self.decoder = SpeechT5DecoderWithoutPrenet(config) if decoder is None else decoder``. When the decoder's class
gets a generated version, the callee to swap is the builder's, where the tracer recorded the call; swapping a
call in the owner's statement would build the branch that did not run::

    text_decoder = SpeechT5DecoderWithTextPrenet(config)          # before, in the builder
    text_decoder = SpeechT5DecoderWithTextPrenetModified(config)  # after; the owner's statement stays as written
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from torch import nn

from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.planning.children import callees_building
from archit_codemod.declaration.planning.context import Planning
from archit_codemod.declaration.planning.owner import Decision, Owner
from archit_codemod.declaration.planning.plan import ClassPlan, SwapCallee


@dataclass(frozen=True)
class HandedDown:
    """A module built in one module's ``__init__`` (its builder) and passed to the constructor of another, its owner.

    ``SpeechT5ForSpeechToText.__init__`` builds ``text_decoder = SpeechT5DecoderWithTextPrenet(config)`` and passes it
    to ``SpeechT5Model(config, encoder, text_decoder)``: the generated class swaps the callee where the builder calls
    it, not in the owner, whose ``__init__`` only stores what it receives.
    """

    builder: nn.Module
    child: nn.Module
    generated: str
    """The name of the child's generated class."""
    path: str
    """The child's path from the root."""


def handed_down(
    owner: Owner, name: str, child: nn.Module, generated: ClassPlan, path: str
) -> HandedDown | None:
    """``child``'s generated class, left to the module that built it and passed it in; ``None`` when ``owner``
    builds it itself.

    That is when the recorded constructor call was made in the ``__init__`` of another module and no statement of
    ``owner``'s ``__init__`` that assigns ``self.<name>`` holds it.
    """
    call = owner.planning.trace.call_of(child)
    builder = owner.planning.builder_of(child)
    if builder is None or builder is owner.module or owner.statements.builds_here(name, call):
        return None
    return HandedDown(builder, child, generated.name, path)


def plan_handed_down(owner: Owner, children: Iterable[HandedDown]) -> Decision:
    """Swap the callee of each child that ``owner``'s ``__init__`` built and handed down.

    Raises:
        DeclarationError: the recorded call is not in a statement of the copied ``__init__``, or the statement does
            not show which call built the child.
    """
    decision = Decision()
    for handed in children:
        call = owner.planning.trace.call_of(handed.child)
        statement = owner.statements.made_at(call)
        callees = None
        if statement is not None:
            source = owner.source_for([statement])
            callees = callees_building(statement, handed.child, source, call)
        if callees is None:
            raise DeclarationError(_not_found(owner, handed, call))
        relative = handed.path.removeprefix(f"{owner.path}.") if owner.path else handed.path
        swaps = tuple(SwapCallee(callee, handed.generated) for callee in callees)
        decision += Decision(swaps, (f"{relative}: {handed.generated}, built here",))
    return decision


def refuse_unbuilt(
    planning: Planning, unbuilt: Mapping[nn.Module, list[HandedDown]], roots: dict[str, nn.Module]
) -> None:
    """Refuse children whose builder got no generated class (``unbuilt``), so that nothing swaps their callee.

    Raises:
        DeclarationError: naming the child's path, its builder and where it was built.
    """
    if not unbuilt:
        return
    paths = {module: path for root in roots.values() for path, module in root.named_modules()}
    for children in unbuilt.values():
        for handed in children:
            call = planning.trace.call_of(handed.child)
            builder = handed.builder
            where = (
                f"the module at {paths[builder] or '<root>'}"
                if builder in paths
                else "a module outside the model"
            )
            raise DeclarationError(
                f"{handed.path}: built by {type(builder).__qualname__}.__init__ ({where}) at "
                f"{call.filename}:{call.lineno} and passed to the constructor of the module that holds it; its class "
                f"got a generated version ({handed.generated}), but no generated class rebuilds that "
                f"{type(builder).__qualname__}. Fix: let the module that holds it build it, or build the changed "
                "module in the script and assign it to the model."
            )


def _not_found(owner: Owner, handed: HandedDown, call) -> str:
    builder = type(owner.module).__qualname__
    return (
        f"{handed.path}: {builder}.__init__ built it at {call.filename}:{call.lineno} and passed it to the module "
        f"that holds it, but no statement of the copied {builder}.__init__ there shows a call of "
        f"{type(handed.child).__qualname__} to swap for {handed.generated}. Fix: build it with a plain call of its "
        "class in that statement, or assign the changed module to the model in the script."
    )
