"""Which modules need a generated class, in the order they are planned (children before their owners).

A module needs a generated class when one of its own children changed, or when a child's class got one. A plain
``ModuleList``/``Sequential``/``ModuleDict`` never gets a class of its own: its owner's ``__init__`` builds it,
so a change inside it is planned as a change of that owner.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from torch import nn

from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.planning.plan import Instance
from archit_codemod.declaration.tracing.changes import Changes, is_container


@dataclass
class Dirty:
    """Which modules changed, themselves or below them (a module reachable from itself counts once)."""

    changes: Changes
    finished: frozenset[nn.Module] = frozenset()
    """Modules whose ``__init__`` gets statements at its end (a library call made again)."""
    _known: dict[nn.Module, bool] = field(default_factory=dict)
    """What was worked out already (a cache: every layer asks about the same modules)."""

    def __call__(self, module: nn.Module) -> bool:
        if module not in self._known:
            self._known[module] = False  # cycles
            self._known[module] = (
                module in self.changes
                or module in self.finished
                or any(child is not None and self(child) for child in module._modules.values())
            )
        return self._known[module]


def join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def modules_to_plan(roots: dict[str, nn.Module], dirty: Dirty) -> Iterator[tuple[nn.Module, Instance]]:
    """Every dirty module that gets a class, with each place it is found, children before their owners.

    A module found at a second place (shared by two owners, or by two roots) is yielded again with that place.

    Raises:
        DeclarationError: a root itself is a container whose items changed (no class builds it).
    """
    done: set[nn.Module] = set()
    for root_name, root in roots.items():
        if not dirty(root):
            continue
        if is_container(root):
            raise DeclarationError(
                f"<root>: items of this {type(root).__name__} changed after it was built, and no class's "
                "__init__ builds it (it is a root, or a module the script built). Fix: build the container with "
                "all of its items at once (nn.Sequential(a, b)), or make it a child of an nn.Module subclass "
                "and modify that model instead."
            )
        yield from _post_order(root, Instance(root_name, ""), dirty, done)


def _post_order(
    module: nn.Module, instance: Instance, dirty: Dirty, done: set[nn.Module]
) -> Iterator[tuple[nn.Module, Instance]]:
    if module in done:
        yield module, instance
        return
    done.add(module)
    for name, child in module._modules.items():
        if child is None or not dirty(child):
            continue
        place = Instance(instance.root, join(instance.path, name))
        if is_container(child):
            yield from _container_items(child, place, dirty, done)
        else:
            yield from _post_order(child, place, dirty, done)
    yield module, instance


def _container_items(
    container: nn.Module, place: Instance, dirty: Dirty, done: set[nn.Module]
) -> Iterator[tuple[nn.Module, Instance]]:
    """The dirty items of a container to plan, also those of containers nested in it (Funnel's blocks)."""
    for key, item in container._modules.items():
        if item is None or not dirty(item):
            continue
        item_place = Instance(place.root, join(place.path, key))
        if is_container(item):
            yield from _container_items(item, item_place, dirty, done)
        else:
            yield from _post_order(item, item_place, dirty, done)
