"""Shared helpers for adding layers to diffusers' ``WanTransformer3DModel`` through hooks.

Backends extend the Wan DiT without forking diffusers: they register PyTorch hooks on the
transformer and its sub-modules, and keep per-call state outside the model. These hooks
survive diffusers' model/group offloading and gradient checkpointing, which still call
the sub-modules, and come off again with :meth:`HookSet.remove`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn
from torch.utils.hooks import RemovableHandle


class HookSet:
    """The hooks one extension put on a model; ``remove()`` restores the plain model."""

    def __init__(self) -> None:
        self._handles: list[RemovableHandle] = []

    def pre(self, module: nn.Module, fn: Callable[..., Any], with_kwargs: bool = False) -> None:
        """A forward pre-hook on ``module``."""
        self._handles.append(module.register_forward_pre_hook(fn, with_kwargs=with_kwargs))

    def post(self, module: nn.Module, fn: Callable[..., Any]) -> None:
        """A forward hook on ``module`` (may return a replacement output)."""
        self._handles.append(module.register_forward_hook(fn))

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def __len__(self) -> int:
        return len(self._handles)


def call_hidden_states(args: tuple, kwargs: dict[str, Any]) -> Any:
    """The ``hidden_states`` a transformer forward was called with (positional or keyword)."""
    return kwargs.get("hidden_states", args[0] if args else None)


def token_grid(transformer: nn.Module, hidden_states: Any) -> tuple[int, int, int]:
    """(frames, height, width) of the token grid for latents (B, C, T, H, W)."""
    p_t, p_h, p_w = transformer.config.patch_size
    _, _, t, h, w = hidden_states.shape
    return int(t) // p_t, int(h) // p_h, int(w) // p_w


def transformer_width(transformer: nn.Module) -> int:
    cfg = transformer.config
    return int(cfg.num_attention_heads) * int(cfg.attention_head_dim)
