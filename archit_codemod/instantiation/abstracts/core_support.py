"""What a wrapper supports is what its core supports: the capability flags transformers reads on a ``PreTrainedModel``.

Both :class:`~.base_model.BaseModel` and :class:`~.model_with_head.ModelWithHead` list
:class:`AttentionSupportFollowsCore` before ``PreTrainedModel`` among their bases, and say which class their core is
(:meth:`AttentionSupportFollowsCore._staticCoreClass`, :meth:`AttentionSupportFollowsCore._coreClassOfInstance`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["AttentionSupportFollowsCore", "FollowsCore"]


class FollowsCore:
    """A ``PreTrainedModel`` capability flag (``_supports_sdpa``, ...) whose value is the core class's flag.

    transformers reads these flags on the instance (during ``PreTrainedModel.__init__``, once ``self.config`` is
    set) to decide which attention implementations it may use. The wrapper supports what its core supports.
    """

    def __init__(self, default: bool = False):
        self.default = default

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type) -> bool:
        core_class = owner._staticCoreClass() if instance is None else instance._coreClassOfInstance()
        return self.default if core_class is None else bool(getattr(core_class, self.name, self.default))


class AttentionSupportFollowsCore:
    """The ``PreTrainedModel`` capability flags, answered from the core class (see :class:`FollowsCore`), and the
    experts implementation left to the core. Listed before ``PreTrainedModel`` among the bases, so these win over its
    class attributes."""

    _supports_sdpa = FollowsCore()
    _supports_flash_attn = FollowsCore()
    _supports_flash_attn_2 = FollowsCore()
    _supports_flex_attn = FollowsCore()
    supports_gradient_checkpointing = FollowsCore()

    @classmethod
    def _staticCoreClass(cls) -> type | None:
        """The core class known from the wrapper class alone, or ``None`` (the flags then take their default)."""
        return None

    def _coreClassOfInstance(self) -> type | None:
        """The core class of this instance: its core's, or the one its config selects while it is being built."""
        return None

    def get_correct_experts_implementation(self, requested_experts: str | None) -> str | None:
        """transformers' check of the mixture-of-experts implementation (transformers 5). The wrapper has no experts of
        its own, and its core checks the implementation it is built or loaded with, so the request passes unchanged
        (``None``: the core picks its default; transformers would pick ``"eager"`` for the wrapper, in the config it
        shares with the core)."""
        return requested_experts
