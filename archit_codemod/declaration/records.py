"""What the runtime tracer records, and what the codemod reads.

This module is the contract between :mod:`archit_codemod.declaration.tracing.tracer` (which fills these
records while a user's script runs) and the codemod (which turns them into class code). It holds
plain data and no behaviour beyond small derived views.
"""

from __future__ import annotations

import inspect
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from torch import nn


class _WeakModuleField:
    """A dataclass field holding a module weakly: reads give the module, or ``None`` once it is gone.

    Used for :attr:`ConstructorCall.parent`: a strong reference there would form a cycle through the
    trace's weak ``calls`` table (child -> call -> parent -> child) that keeps every traced model alive
    for as long as the trace lives.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self._slot = f"_{name}_ref"

    def __get__(self, instance: object, owner: type | None = None) -> nn.Module | None:
        if instance is None:
            return None  # the dataclass default
        reference = instance.__dict__.get(self._slot)
        return None if reference is None else reference()

    def __set__(self, instance: object, value: nn.Module | None) -> None:
        instance.__dict__[self._slot] = None if value is None else weakref.ref(value)


@dataclass(eq=False)
class LibraryCall:
    """A call the script made into code outside it (a library) during which something traced happened.

    ``peft_model = get_peft_model(model, config)``: ``function`` is ``peft.get_peft_model``, ``arguments`` maps
    each of its parameters to the value it had when the call was entered (``{"model": model, "peft_config":
    config, ...}``), ``filename``/``lineno`` locate the script's statement. For a method called on an object
    (``layer.attention.register_forward_hook(hook)``), ``receiver`` is that object and ``arguments`` leaves out
    ``self``. ``function`` is ``None`` when the called code cannot be named from its module (a closure, a
    lambda).
    """

    name: str
    function: Any
    receiver: Any
    arguments: dict[str, Any]
    filename: str
    lineno: int


@dataclass(frozen=True)
class SettingChange:
    """An attribute the script set on a module the original class builds: a plain setting (``module.p = 0.0``),
    or instance state (``module.forward = types.MethodType(sink_forward, module)``, a steering object).

    ``path`` is the module's path from the root, ``name`` the attribute, ``value`` what the script left there.
    """

    path: str
    name: str
    value: Any


EffectKind = Literal[
    "parameter", "buffer", "forward_hook", "forward_pre_hook", "backward_hook", "backward_pre_hook"
]


@dataclass(eq=False)
class Effect:
    """A change of a module that is not a child module: a parameter or buffer registered, a hook added.

    Recorded only after the module's construction finished, like :class:`Modification`; ``call`` is the library
    call the script made that did it (``None`` when the script's own statement did).
    """

    kind: EffectKind
    owner: nn.Module
    name: str
    call: LibraryCall | None
    filename: str
    lineno: int


ModificationKind = Literal["set", "delete", "add"]
"""
- ``set``: an existing child (module or ``None``) was replaced, by a module or by ``None``;
  covers ``owner.x = m``, ``owner.x = None``, ``owner[3] = m`` on containers, and
  ``add_module``/``register_module`` under an existing name.
- ``delete``: ``del owner.x`` / ``del owner[3]`` / ``delattr`` of a child module.
- ``add``: a child under a name the owner did not have before.
"""


@dataclass(eq=False)
class ConstructorCall:
    """How one module was built: ``cls(*args, **kwargs)``, called at ``filename:lineno``.

    ``args`` and ``kwargs`` are the live objects that were passed (the config object, other
    modules, literals...), not copies. ``parent`` is the innermost module whose ``__init__`` was
    running when this module was built (``None`` when built at top level, e.g. by the script, or
    once that module no longer exists: it is held weakly).
    """

    cls: type[nn.Module]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    filename: str
    lineno: int
    parent: nn.Module | None = _WeakModuleField()  # type: ignore[assignment]
    within: LibraryCall | None = None
    """The library call the script made that built this module (``get_peft_model`` for a LoRA layer); ``None``
    when the script built it itself, or a constructor the script called did."""

    def bound(self) -> inspect.BoundArguments | None:
        """The arguments bound to the parameters of ``cls.__init__``, or ``None`` when they do not bind."""
        try:
            return inspect.signature(self.cls).bind(*self.args, **self.kwargs)
        except (TypeError, ValueError):
            return None


@dataclass(eq=False)
class Modification:
    """One change of a child of ``owner`` made after ``owner``'s construction finished.

    ``name`` is the child's name as it appears in ``owner._modules`` (attribute name, or the item key
    of a ``ModuleList``/``Sequential``/``ModuleDict`` as a string, list indices non-negative).
    ``old``/``new`` are the child before and after (``None`` for absent or ``None``).
    ``filename``/``lineno`` locate the statement that made the change: the innermost frame outside
    torch and outside archit_codemod (so ``model.set_input_embeddings(m)`` inside transformers
    reports the transformers line; the user frame that called it is ``user_filename``/``user_lineno``).
    """

    kind: ModificationKind
    owner: nn.Module
    name: str
    old: nn.Module | None
    new: nn.Module | None
    filename: str
    lineno: int
    user_filename: str = ""
    user_lineno: int = 0
    call: LibraryCall | None = None
    """The library call the script made that made this change (``None`` when the script's own statement did)."""


@dataclass(frozen=True, eq=False)
class ForwardCall:
    """The arguments a module was called with: ``module(*args, **kwargs)``."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any]


@dataclass(eq=False)
class Trace:
    """Everything one traced run recorded.

    ``calls`` maps each module built while tracing to the :class:`ConstructorCall` that built it
    (weakly, so tracing does not keep discarded models in memory). ``effects`` are the changes that are not child
    modules (tensors and hooks registered after construction).
    ``namespace`` is the script's global namespace after it ran, ``script_path`` its file
    (``None`` when tracing a block of code with :func:`archit_codemod.declaration.tracing.tracer.trace`).
    Classes defined in the script have ``__module__ == script_module_name``; their source is in
    ``script_path`` (``inspect.getsource`` cannot find it once the script's ``__main__`` is gone).
    ``script_argv`` is the script's ``sys.argv`` (its path as given, then its arguments).
    ``traced_roots`` holds, strongly, the topmost traced ancestor of each modified owner, so that a
    model the script kept only in a local variable (``def main(): model = ...``) can still be declared.
    ``exited`` is true when the script ended itself with ``sys.exit(0)`` (or ``sys.exit()``).
    """

    modifications: list[Modification] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    calls: weakref.WeakKeyDictionary[nn.Module, ConstructorCall] = field(
        default_factory=weakref.WeakKeyDictionary
    )
    copies: weakref.WeakKeyDictionary[nn.Module, nn.Module] = field(default_factory=weakref.WeakKeyDictionary)
    """Each module made by ``copy.deepcopy`` while tracing -> the module it copies."""
    forward_calls: weakref.WeakKeyDictionary[nn.Module, ForwardCall] = field(
        default_factory=weakref.WeakKeyDictionary
    )
    """Each module the script called (not from inside another module's forward) -> the arguments of its first
    call: inputs the model runs on, for verification to compare outputs on."""
    namespace: dict[str, Any] = field(default_factory=dict)
    script_path: Path | None = None
    script_module_name: str = "__main__"
    script_argv: list[str] = field(default_factory=list)
    traced_roots: list[nn.Module] = field(default_factory=list)
    exited: bool = False

    def call_of(self, module: nn.Module) -> ConstructorCall | None:
        """The constructor call that built ``module``, if it was built while tracing."""
        return self.calls.get(module)

    def copied_from(self, module: nn.Module) -> nn.Module | None:
        """The module ``module`` is a deep copy of (the first one built by a constructor), if it is one."""
        original = self.copies.get(module)
        while original is not None and original in self.copies and original not in self.calls:
            original = self.copies[original]
        return original
