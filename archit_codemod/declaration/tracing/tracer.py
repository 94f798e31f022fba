"""The runtime tracer: record how modules were built and which submodules were changed afterwards.

While a trace is active:

- every ``nn.Module`` built is recorded as a :class:`~archit_codemod.declaration.records.ConstructorCall`
  (class, the arguments as passed, the calling line, the module whose ``__init__`` was running);
- every change of a child module made *after the owner's construction finished* is recorded as a
  :class:`~archit_codemod.declaration.records.Modification`. A change made while
  the owner's own ``__init__`` runs, or while an ``__init__`` during which the owner was created still
  runs, is the owner's definition and is not recorded. Where the changing code lives does not matter.

How the recording works, and why it is cheap:

- Constructor calls: ``type.__call__`` passes the constructor arguments to ``__new__`` before it calls
  ``__init__``, so a ``__new__`` on ``torch.nn.Module`` sees them for every subclass, including classes
  defined before tracing started. CPython cannot take a ``__new__`` back once it was assigned to a class
  (deleting it leaves the class's ``tp_new`` slot pointing at the generic dispatcher, and every later
  construction with arguments fails in ``object.__new__``), so the ``__new__`` installed by the first
  trace stays, as an inert pass-through equivalent to ``object.__new__`` whenever no trace is active.
- Child changes: torch's global module-registration hook sees attribute assignment of a module, of
  ``None`` over an existing child, ``add_module``/``register_module`` and container ``__setitem__``,
  ``append`` and ``extend``. What it does not see (``del``, container ``__delitem__``, ``insert``,
  ``ModuleDict.clear``) is patched for the duration of the trace and restored afterwards; container
  operations that renumber their items are recorded as the per-key difference of ``_modules``.
- Definition or modification: decided only when a child changes, by walking the Python stack for
  running ``__init__`` frames; construction itself costs one stack walk per module to find its parent.
"""

from __future__ import annotations

import builtins
import copyreg
import dataclasses
import functools
import inspect
import os
import runpy
import sys
import threading
import traceback
import types
import weakref
from collections.abc import Callable, Iterator
from importlib.machinery import SourceFileLoader
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.modules.module import (
    register_module_forward_hook,
    register_module_forward_pre_hook,
    register_module_module_registration_hook,
)

import archit_codemod
from archit_codemod.declaration.errors import ScriptError, ScriptExitedError
from archit_codemod.declaration.records import (
    ConstructorCall,
    Effect,
    EffectKind,
    ForwardCall,
    LibraryCall,
    Modification,
    ModificationKind,
    Trace,
)
from archit_codemod.declaration.stages import InternalError

__all__ = ["current_trace", "run_script", "trace", "trace_session"]

_TORCH_DIR = os.path.dirname(torch.__file__) + os.sep
_PACKAGE_DIR = os.path.dirname(archit_codemod.__file__) + os.sep
_RUNPY_FILES = frozenset({runpy.__file__, "<frozen runpy>"})
_COPY_CONSTRUCTORS = frozenset({copyreg.__newobj__.__code__, copyreg.__newobj_ex__.__code__})


class _Session:
    """One active trace, and which frames run "the user's" code for it: those of the traced file, and, for a block
    traced in an interactive session, those of every cell (the code that runs in the session's ``__main__``
    namespace, ``user_globals``), as all of a script's own functions are in its file."""

    def __init__(self, user_filename: str, user_globals: dict[str, Any] | None = None) -> None:
        self.trace = Trace()
        self.user_filename = user_filename
        self.user_globals = user_globals

    def runs_users_code(self, frame: types.FrameType) -> bool:
        return frame.f_code.co_filename == self.user_filename or (
            self.user_globals is not None and frame.f_globals is self.user_globals
        )


class _State:
    """Process-wide tracer state; the patches are installed while at least one session is active."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.sessions: list[_Session] = []
        # module -> weak reference to the module whose __init__ was running when it was built
        self.creation_parents: weakref.WeakKeyDictionary[nn.Module, weakref.ref[nn.Module]] = (
            weakref.WeakKeyDictionary()
        )
        # ids of owners inside a container operation that records its own per-key difference
        self.diffing_owners: set[int] = set()
        self.hook_handle: Any = None
        self.forward_handles: list[Any] = []
        self.forward_depth = 0
        """How many module forwards are running (0: the code running is the script's, or a library's outside
        any forward)."""
        self.patched: list[tuple[type, str, Callable[..., Any]]] = []
        # The frame of the library call the script is in, and its record: the effects of one call share it.
        self.entered: tuple[types.FrameType, LibraryCall] | None = None
        # The same for the construction of an object of a script class that registers hooks or tensors.
        self.constructing: tuple[types.FrameType, LibraryCall] | None = None


_state = _State()


# --- stack inspection -----------------------------------------------------------------------------


def _first_argument(frame: types.FrameType) -> Any:
    code = frame.f_code
    if code.co_argcount == 0:
        return None
    return frame.f_locals.get(code.co_varnames[0])


def _running_inits(frame: types.FrameType | None) -> Iterator[nn.Module]:
    """The modules whose ``__init__`` is running at ``frame`` and its callers, innermost first."""
    while frame is not None:
        if frame.f_code.co_name == "__init__":
            candidate = _first_argument(frame)
            if isinstance(candidate, nn.Module):
                yield candidate
        frame = frame.f_back


def _is_internal(filename: str) -> bool:
    return filename.startswith(_TORCH_DIR) or filename.startswith(_PACKAGE_DIR)


def _statement_location(frame: types.FrameType | None) -> tuple[str, int]:
    """The innermost frame outside torch and archit_codemod: the statement that made a change."""
    while frame is not None and _is_internal(frame.f_code.co_filename):
        frame = frame.f_back
    return (frame.f_code.co_filename, frame.f_lineno) if frame is not None else ("", 0)


def _user_location(frame: types.FrameType | None, session: _Session) -> tuple[str, int]:
    while frame is not None and not session.runs_users_code(frame):
        frame = frame.f_back
    return (frame.f_code.co_filename, frame.f_lineno) if frame is not None else ("", 0)


def _entry_frame(frame: types.FrameType | None, session: _Session) -> types.FrameType | None:
    """The frame of the call the script's own code made into other code, if ``frame`` runs inside one."""
    entry = None
    while frame is not None and not session.runs_users_code(frame):
        entry, frame = frame, frame.f_back
    return entry if frame is not None else None


def _library_call(frame: types.FrameType | None, session: _Session) -> LibraryCall | None:
    """The :class:`LibraryCall` the script made that ``frame`` runs inside (one record per call)."""
    entry = _entry_frame(frame, session)
    if entry is None or _is_statement_in_disguise(entry.f_code.co_name):
        return None
    if _state.entered is not None and _state.entered[0] is entry:
        return _state.entered[1]
    call = _describe_call(entry)
    _state.entered = (entry, call)
    return call


def _building_call(frame: types.FrameType, session: _Session) -> LibraryCall | None:
    """The library call (not a constructor: that is the module's own definition) that builds a module now."""
    entry = _entry_frame(frame, session)
    if entry is None or entry.f_code.co_name == "__init__":
        return None
    return _library_call(frame, session)


def _is_statement_in_disguise(name: str) -> bool:
    """``model.x = m``, ``del model.x``, ``layers[0] = m`` run ``Module.__setattr__`` & co.: the script's own statements."""
    return name.startswith("__") and name.endswith("__") and name != "__init__"


def _describe_call(entry: types.FrameType) -> LibraryCall:
    code = entry.f_code
    names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    arguments = {name: entry.f_locals[name] for name in names if name in entry.f_locals}
    starred = code.co_argcount + code.co_kwonlyargcount
    if code.co_flags & inspect.CO_VARARGS:
        arguments["*" + code.co_varnames[starred]] = entry.f_locals.get(code.co_varnames[starred], ())
        starred += 1
    if code.co_flags & inspect.CO_VARKEYWORDS:
        arguments["**" + code.co_varnames[starred]] = entry.f_locals.get(code.co_varnames[starred], {})
    receiver, function = None, None
    first = names[0] if names else None
    if first is not None and _is_method_of(arguments.get(first), code):
        receiver = arguments.pop(first)
        function = getattr(type(receiver), code.co_name, None)
    else:
        candidate = entry.f_globals.get(code.co_name)
        if getattr(inspect.unwrap(candidate), "__code__", None) is code if callable(candidate) else False:
            function = candidate
    caller = entry.f_back
    return LibraryCall(
        code.co_name,
        function,
        receiver,
        arguments,
        caller.f_code.co_filename if caller is not None else "",
        caller.f_lineno if caller is not None else 0,
    )


def _is_method_of(obj: Any, code: types.CodeType) -> bool:
    if obj is None:
        return False
    method = getattr(type(obj), code.co_name, None)
    return getattr(inspect.unwrap(method), "__code__", None) is code if callable(method) else False


# --- construction ---------------------------------------------------------------------------------


def _module_new(cls: type[nn.Module], *args: Any, **kwargs: Any) -> nn.Module:
    """``torch.nn.Module.__new__`` while (and after) tracing: ``object.__new__`` plus recording."""
    module = object.__new__(cls)
    if _state.sessions:
        try:
            _record_construction(module, cls, args, kwargs, sys._getframe(1))
        except Exception as error:
            raise InternalError("tracing", None, error) from error
    return module


def _record_construction(
    module: nn.Module, cls: type[nn.Module], args: tuple[Any, ...], kwargs: dict[str, Any], caller: Any
) -> None:
    parent = next(_running_inits(caller), None)
    if parent is not None:
        _state.creation_parents[module] = weakref.ref(parent)
    # copy.deepcopy / pickle call cls.__new__(cls) directly, and a subclass with its own __new__
    # calls ours without its arguments: neither is the constructor call, so none is recorded. A deep copy
    # records the module it copies (copy._reconstruct's `x`), so that it can be built as that one was.
    if caller.f_code in _COPY_CONSTRUCTORS:
        reconstruct = caller.f_back
        original = reconstruct.f_locals.get("x") if reconstruct is not None else None
        if isinstance(original, nn.Module) and type(original) is cls:
            for session in _state.sessions:
                session.trace.copies[module] = original
        return
    if cls.__new__ is not _module_new:
        return
    if not args and not kwargs and _needs_arguments(cls):
        return  # unpickling (torch.load, pickle.loads) calls cls.__new__(cls) and never __init__
    within = {id(session): _building_call(caller, session) for session in _state.sessions}
    shared: dict[int, ConstructorCall] = {}  # nested traces share one record when they see the same call
    for session in _state.sessions:
        library_call = within[id(session)]
        if id(library_call) not in shared:
            shared[id(library_call)] = ConstructorCall(
                cls=cls,
                args=args,
                kwargs=kwargs,
                filename=caller.f_code.co_filename,
                lineno=caller.f_lineno,
                parent=parent,
                within=library_call,
            )
        session.trace.calls[module] = shared[id(library_call)]


@functools.cache
def _needs_arguments(cls: type[nn.Module]) -> bool:
    """Whether ``cls(...)`` must be given arguments (its ``__init__`` has a parameter without a default)."""
    try:
        parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    except (TypeError, ValueError):
        return False
    return any(
        parameter.default is inspect.Parameter.empty
        and parameter.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        for parameter in parameters
    )


def _creation_ancestors(module: nn.Module) -> Iterator[nn.Module]:
    """``module`` and the modules whose ``__init__`` was running when it (or an ancestor) was built."""
    while module is not None:
        yield module
        reference = _state.creation_parents.get(module)
        module = reference() if reference is not None else None


def _is_definition(owner: nn.Module, frame: types.FrameType | None) -> bool:
    ancestors = {id(module) for module in _creation_ancestors(owner)}
    return any(id(running) in ancestors for running in _running_inits(frame))


# --- child changes --------------------------------------------------------------------------------


def _record_change(
    changes: list[tuple[ModificationKind, str, nn.Module | None, nn.Module | None]],
    owner: nn.Module,
    frame: types.FrameType | None,
) -> None:
    try:
        _record_change_in_sessions(changes, owner, frame)
    except Exception as error:
        raise InternalError("tracing", None, error) from error


def _record_change_in_sessions(
    changes: list[tuple[ModificationKind, str, nn.Module | None, nn.Module | None]],
    owner: nn.Module,
    frame: types.FrameType | None,
) -> None:
    if not changes or _is_definition(owner, frame):
        return
    filename, lineno = _statement_location(frame)
    top = list(_creation_ancestors(owner))[-1]
    for session in _state.sessions:
        user_filename, user_lineno = _user_location(frame, session)
        trace = session.trace
        call = _library_call(frame, session)
        for kind, name, old, new in changes:
            trace.modifications.append(
                Modification(kind, owner, name, old, new, filename, lineno, user_filename, user_lineno, call)
            )
        if not any(root is top for root in trace.traced_roots):
            trace.traced_roots.append(top)


def _on_registration(owner: nn.Module, name: str, new: nn.Module | None) -> None:
    """torch's global module-registration hook: setattr, add_module, container __setitem__."""
    if not _state.sessions or id(owner) in _state.diffing_owners:
        return None
    children = owner._modules
    if name in children:
        old = children[name]
        if old is new:
            return None
        change = ("set", name, old, new)
    else:
        change = ("add", name, None, new)
    _record_change([change], owner, sys._getframe(1))
    return None


def _traced_delattr(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def traced_delattr(self: nn.Module, name: str) -> None:
        children = self.__dict__.get("_modules")
        if (
            _state.sessions
            and children is not None
            and name in children
            and id(self) not in _state.diffing_owners
        ):
            _record_change([("delete", name, children[name], None)], self, sys._getframe(1))
        original(self, name)

    return traced_delattr


def _key_differences(
    before: dict[str, nn.Module | None], after: dict[str, nn.Module | None]
) -> list[tuple[ModificationKind, str, nn.Module | None, nn.Module | None]]:
    changes: list[tuple[ModificationKind, str, nn.Module | None, nn.Module | None]] = []
    for name, old in before.items():
        if name not in after:
            changes.append(("delete", name, old, None))
        elif after[name] is not old:
            changes.append(("set", name, old, after[name]))
    changes.extend(("add", name, None, new) for name, new in after.items() if name not in before)
    return changes


def _traced_by_difference(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a container operation so that its net effect on ``_modules`` is recorded key by key."""

    @functools.wraps(original)
    def operation(self: nn.Module, *args: Any, **kwargs: Any) -> Any:
        if not _state.sessions or id(self) in _state.diffing_owners:
            return original(self, *args, **kwargs)
        before = dict(self._modules)
        _state.diffing_owners.add(id(self))
        try:
            return original(self, *args, **kwargs)
        finally:
            _state.diffing_owners.discard(id(self))
            _record_change(_key_differences(before, self._modules), self, sys._getframe(1))

    return operation


def _traced_registration(kind: EffectKind, original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``Module.register_parameter``-like methods so that a registration after construction is recorded."""

    @functools.wraps(original)
    def registration(self: nn.Module, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        if _state.sessions:
            direct = _direct_call(original, self, args, kwargs)
            _record_effect(kind, self, _registered_name(kind, args, kwargs), sys._getframe(1), direct)
        return result

    return registration


def _registered_name(kind: EffectKind, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """The tensor's name, or the hook function's qualified name."""
    if kind in ("parameter", "buffer"):
        return str(args[0] if args else kwargs.get("name", ""))
    hook = args[0] if args else kwargs.get("hook")
    return getattr(hook, "__qualname__", type(hook).__qualname__)


def _direct_call(function: Callable[..., Any], receiver: nn.Module, args: tuple, kwargs: dict) -> LibraryCall:
    """The registration method's own call, for a script that calls it directly (``layer.register_forward_hook(f)``)."""
    try:
        bound = inspect.signature(function).bind(receiver, *args, **kwargs)
        arguments = {name: value for name, value in bound.arguments.items() if name != "self"}
    except TypeError:
        arguments = {}
    return LibraryCall(function.__name__, function, receiver, arguments, "", 0)


def _record_effect(
    kind: EffectKind, owner: nn.Module, name: str, frame: types.FrameType | None, direct: LibraryCall
) -> None:
    try:
        _record_effect_in_sessions(kind, owner, name, frame, direct)
    except Exception as error:
        raise InternalError("tracing", None, error) from error


def _record_effect_in_sessions(
    kind: EffectKind, owner: nn.Module, name: str, frame: types.FrameType | None, direct: LibraryCall
) -> None:
    if _is_definition(owner, frame):
        return
    for session in _state.sessions:
        filename, lineno = _user_location(frame, session)
        call = _library_call(frame, session)
        if call is None and frame is not None and session.runs_users_code(frame):
            call = _script_object_construction(frame, session) or LibraryCall(
                direct.name, direct.function, direct.receiver, direct.arguments, filename, lineno
            )
        session.trace.effects.append(Effect(kind, owner, name, call, filename, lineno))


def _script_object_construction(frame: types.FrameType, session: _Session) -> LibraryCall | None:
    """The construction of an object of a script class (not a module) whose ``__init__`` runs at ``frame`` or a
    caller, the outermost one: what made a hook or tensor registered there (baukit's ``nethook.Trace(layer,
    edit_output=f)`` registers its own bound method as a forward hook), to be made again as a whole.

    Its arguments are the ``__init__``'s parameters as they are now; it is located where it was called.
    """
    construction = None
    while frame is not None:
        code = frame.f_code
        if code.co_name == "__init__" and session.runs_users_code(frame):
            built = _first_argument(frame)
            if built is not None and not isinstance(built, nn.Module) and _is_method_of(built, code):
                construction = frame
        frame = frame.f_back
    if construction is None:
        return None
    if _state.constructing is not None and _state.constructing[0] is construction:
        return _state.constructing[1]
    described = _describe_call(construction)
    cls = type(described.receiver)
    call = dataclasses.replace(described, name=cls.__name__, function=cls, receiver=None)
    _state.constructing = (construction, call)
    return call


_REGISTRATIONS: tuple[tuple[str, EffectKind], ...] = (
    ("register_parameter", "parameter"),
    ("register_buffer", "buffer"),
    ("register_forward_hook", "forward_hook"),
    ("register_forward_pre_hook", "forward_pre_hook"),
    ("register_full_backward_hook", "backward_hook"),
    ("register_full_backward_pre_hook", "backward_pre_hook"),
)

# Operations that change children without torch's registration hook (see torch/nn/modules/container.py).
_DIFFED_OPERATIONS: tuple[tuple[type[nn.Module], str], ...] = (
    (nn.ModuleList, "__delitem__"),
    (nn.ModuleList, "insert"),
    (nn.Sequential, "__delitem__"),
    (nn.Sequential, "insert"),
    (nn.ModuleDict, "__delitem__"),
    (nn.ModuleDict, "clear"),
)


def _entering_forward(module: nn.Module, args: tuple[Any, ...]) -> None:
    _state.forward_depth += 1


def _leaving_forward(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any) -> None:
    """Record the first outermost call of each module: what the script ran the model on."""
    _state.forward_depth -= 1
    if _state.forward_depth == 0:
        for session in _state.sessions:
            if module not in session.trace.forward_calls:
                session.trace.forward_calls[module] = ForwardCall(args, dict(kwargs))


def _install() -> None:
    module_new = nn.Module.__dict__.get("__new__")
    if module_new is None:
        nn.Module.__new__ = staticmethod(_module_new)  # type: ignore[method-assign,assignment]
    elif getattr(module_new, "__func__", None) is not _module_new:
        raise RuntimeError(
            "torch.nn.Module already defines __new__ (a newer torch?); archit_codemod's tracer cannot "
            "record constructor calls on it. Please report this with your torch version."
        )
    _state.hook_handle = register_module_module_registration_hook(_on_registration)
    _state.forward_handles = [
        register_module_forward_pre_hook(_entering_forward),
        register_module_forward_hook(_leaving_forward, with_kwargs=True, always_call=True),
    ]
    patches = [(nn.Module, "__delattr__", _traced_delattr)]
    patches += [(cls, name, _traced_by_difference) for cls, name in _DIFFED_OPERATIONS]
    patches += [
        (nn.Module, name, functools.partial(_traced_registration, kind)) for name, kind in _REGISTRATIONS
    ]
    for cls, name, wrap in patches:
        original = cls.__dict__[name]
        _state.patched.append((cls, name, original))
        setattr(cls, name, wrap(original))


def _uninstall() -> None:
    # nn.Module.__new__ stays (see the module docstring); with no session it only calls object.__new__.
    if _state.hook_handle is not None:
        _state.hook_handle.remove()
        _state.hook_handle = None
    while _state.forward_handles:
        _state.forward_handles.pop().remove()
    _state.forward_depth = 0
    while _state.patched:
        cls, name, original = _state.patched.pop()
        setattr(cls, name, original)
    _state.creation_parents = weakref.WeakKeyDictionary()
    _state.diffing_owners.clear()
    _state.entered = None
    _state.constructing = None


# --- public API -----------------------------------------------------------------------------------


class _TraceContext:
    """Context manager returned by :func:`trace` and :func:`trace_session`."""

    def __init__(self, user_filename: str | None = None, user_globals: dict[str, Any] | None = None) -> None:
        self._user_filename = user_filename
        self._user_globals = user_globals
        self._session: _Session | None = None
        self._frame: types.FrameType | None = None

    def __enter__(self) -> Trace:
        if self._session is not None:
            raise RuntimeError("this trace() context is already active; create a new one with trace()")
        if self._user_filename is None:
            self._frame = sys._getframe(1)
            self._user_filename = self._frame.f_code.co_filename
        session = _Session(self._user_filename, self._user_globals)
        if self._user_globals is not None:
            session.trace.namespace = self._user_globals
        if self._frame is not None:
            _adopt_main_script(session, self._frame)
        with _state.lock:
            if not _state.sessions:
                _install()
            _state.sessions.append(session)
        self._session = session
        return session.trace

    def __exit__(self, *exc_info: object) -> None:
        session, self._session = self._session, None
        with _state.lock:
            _state.sessions.remove(session)
            if not _state.sessions:
                _uninstall()
        if self._frame is not None:
            # What the traced block can see: its globals, then its locals (the same dict at module level).
            session.trace.namespace = {**self._frame.f_globals, **self._frame.f_locals}
            self._frame = None


def _adopt_main_script(session: _Session, frame: types.FrameType) -> None:
    """A ``with trace():`` block written in ``__main__``: its classes live there, which no other program can
    import, so the codemod copies them from the script's file (``python script.py``, as for :func:`run_script`),
    or from the cells of an interactive session (a notebook, whose cells :mod:`linecache` keeps), whose code all
    counts as the user's. The namespace is the module's own, live until the block ends, so that ``declare()``
    inside the block sees it."""
    trace, globals_ = session.trace, frame.f_globals
    if globals_.get("__name__") != "__main__":
        return
    file = globals_.get("__file__")
    if not isinstance(file, str):
        trace.namespace = session.user_globals = globals_
        return
    path = Path(file).resolve()
    if file.endswith(".py") and path.is_file() and Path(frame.f_code.co_filename).resolve() == path:
        trace.script_path = path
        trace.script_module_name = "__main__"
        trace.namespace = globals_


def trace() -> _TraceContext:
    """Record module constructions and submodule changes while the ``with`` block runs.

    >>> with trace() as t:
    ...     model.encoder.layer[0] = MyLayer(config)
    >>> [(m.kind, m.name) for m in t.modifications]
    [('set', '0')]

    The yielded :class:`~archit_codemod.declaration.records.Trace` fills while the block runs; frames in
    the block's file are the "user" frames of each modification. Traces may be nested.
    """
    return _TraceContext()


def trace_session(filename: str, namespace: dict[str, Any]) -> _TraceContext:
    """Record, as :func:`trace` does, while code compiled under ``filename`` runs in ``namespace``, the
    ``__main__`` namespace of an interactive session: what a notebook's cell magic traces, where the code of
    every cell counts as the user's. The trace's namespace is ``namespace`` itself."""
    return _TraceContext(user_filename=filename, user_globals=namespace)


def current_trace() -> Trace | None:
    """The innermost active trace, or ``None`` when nothing is being traced."""
    sessions = _state.sessions
    return sessions[-1].trace if sessions else None


def run_script(path: str | os.PathLike[str], args: list[str] | tuple[str, ...] = ()) -> Trace:
    """Run ``path`` as ``__main__`` with ``args``, as ``python PATH ARGS`` would, under a trace.

    The script sees ``sys.argv == [path, *args]``, its own folder as ``sys.path[0]``, an absolute
    ``__file__`` and ``__name__ == "__main__"``; ``sys.argv``, ``sys.path`` and
    ``sys.modules["__main__"]`` are restored afterwards. The returned trace holds the script's final
    global namespace. ``sys.exit(0)`` (or ``sys.exit()``) ends the script normally.

    Raises:
        ScriptError: the file is missing or not Python, has a syntax error, or raised. The message is the
            script's traceback without the tracer's own frames.
        ScriptExitedError: the script exited with a non-zero status (a :class:`ScriptError` with ``status``).
    """
    given = os.fspath(path)
    script = Path(given).absolute()
    code = _compile_script(given, script)

    main_module = types.ModuleType("__main__")
    main_module.__dict__.update(
        __file__=str(script),
        __builtins__=builtins,
        __loader__=SourceFileLoader("__main__", str(script)),
        __spec__=None,
        __package__=None,
        __cached__=None,
    )
    saved_argv, saved_path = sys.argv, sys.path[:]
    saved_main = sys.modules.get("__main__")
    sys.argv = [given, *args]
    sys.path[0:1] = [os.path.dirname(os.path.realpath(script))]
    sys.modules["__main__"] = main_module
    exited = False
    try:
        with _TraceContext(user_filename=str(script)) as result:
            try:
                exec(code, main_module.__dict__)
            except SystemExit as stop:
                if stop.code not in (None, 0):
                    status = stop.code if isinstance(stop.code, int) else f"1 ({stop.code})"
                    raise ScriptExitedError(f"{given} exited with status {status}", stop.code) from None
                exited = True
            except InternalError:
                raise
            except Exception as error:
                raise ScriptError(_user_traceback(error)) from error
    finally:
        sys.argv = saved_argv
        sys.path[:] = saved_path
        if saved_main is not None:
            sys.modules["__main__"] = saved_main
        else:
            del sys.modules["__main__"]
    result.namespace = main_module.__dict__
    result.script_path = script
    result.script_argv = [given, *args]
    result.exited = exited
    return result


def _compile_script(given: str, script: Path) -> types.CodeType:
    if not script.exists():
        raise ScriptError(
            f"{given}: no such file. Give the path of the Python script that modifies the model."
        )
    if not script.is_file():
        raise ScriptError(f"{given} is not a file. Give the path of a Python script.")
    source = script.read_bytes()
    try:
        return compile(source, str(script), "exec", dont_inherit=True)
    except SyntaxError as error:
        if "null bytes" in str(error) or "unicode error" in str(error):
            raise ScriptError(f"{given} is not a Python script ({error.msg}).") from None
        raise ScriptError(_user_traceback(error)) from None
    except ValueError as error:  # null bytes, on Python < 3.12
        raise ScriptError(f"{given} is not a Python script ({error}).") from None


def _user_traceback(error: BaseException) -> str:
    """``error``'s traceback as Python prints it, without the frames of archit_codemod and runpy."""
    report = traceback.TracebackException.from_exception(error)
    pending, seen = [report], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        current.stack = traceback.StackSummary.from_list(
            [
                frame
                for frame in current.stack
                if not frame.filename.startswith(_PACKAGE_DIR) and frame.filename not in _RUNPY_FILES
            ]
        )
        pending.extend(chained for chained in (current.__cause__, current.__context__) if chained)
        pending.extend(getattr(current, "exceptions", None) or ())
    return "".join(report.format()).rstrip("\n")
