"""Puts an :class:`~.adapter.InfiniteTalkAdapter` into diffusers' ``WanTransformer3DModel``.

InfiniteTalk adds its audio cross-attention *inside* each block, between the text/image
cross-attention and the feed-forward. Diffusers' block computes::

    h = h + attn2(norm2(h), text)        # then norm3 → FFN

so two hooks per block suffice: a pre-hook on ``norm2`` keeps ``h``, and a hook on
``attn2`` returns ``attn2_out + audio(norm_x(h + attn2_out))``. The block then adds that
to ``h``, which is the reference's ``x = x + cross; x = x + audio``. With two speakers
the self-attention's normalised queries and keys (hooks on ``attn1.norm_q``/``norm_k``)
and the transformer's RoPE tables (a hook on ``transformer.rope``) give the reference
attention map of :mod:`.routing` for the same block.

Outside :meth:`AudioInjection.audio` (or with ``tokens=None``) every hook passes through,
so the transformer is exactly the plain backbone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import torch
from torch import nn

from engine.backends.infinitetalk.adapter import InfiniteTalkAdapter
from engine.backends.infinitetalk.routing import apply_wan_rotary, reference_attention_map, token_positions
from engine.backends.wan_hooks import HookSet, call_hidden_states, token_grid, transformer_width


@dataclass
class _Call:
    """What one ``audio()`` block injects, plus scratch for the transformer call in flight."""

    tokens: torch.Tensor  # (B or 1, latent frames, speakers·N, C)
    speakers: int
    masks: torch.Tensor | None  # (speakers + 1, first-frame tokens) for two-speaker routing
    grid: tuple[int, int, int] = (0, 0, 0)
    rotary: tuple[torch.Tensor, torch.Tensor] | None = None
    scratch: dict[str, Any] = field(default_factory=dict)

    @property
    def routing(self) -> bool:
        return self.speakers > 1 and self.masks is not None


class AudioInjection:
    """Hooks an adapter into a transformer; use ``with injection.audio(tokens, ...): transformer(...)``."""

    def __init__(self, transformer: nn.Module, adapter: InfiniteTalkAdapter) -> None:
        width = transformer_width(transformer)
        if adapter.config.num_blocks != len(transformer.blocks):
            raise ValueError(f"adapter has {adapter.config.num_blocks} blocks, transformer {len(transformer.blocks)}")
        if adapter.config.model_dim != width:
            raise ValueError(f"adapter width {adapter.config.model_dim} != transformer width {width}")
        if adapter.config.num_heads != transformer.config.num_attention_heads:
            raise ValueError(f"adapter heads {adapter.config.num_heads} != transformer heads "
                             f"{transformer.config.num_attention_heads}")
        self.transformer, self.adapter = transformer, adapter
        self._call: _Call | None = None
        self.last_positions: dict[int, torch.Tensor] = {}  # block → routing positions (for inspection)
        self.keep_positions = False
        self.hooks = HookSet()
        self.hooks.pre(transformer, self._start, with_kwargs=True)
        self.hooks.post(transformer.rope, self._rope)
        for i, block in enumerate(transformer.blocks):
            self.hooks.post(block.attn1.norm_q, partial(self._query, i))
            self.hooks.post(block.attn1.norm_k, partial(self._key, i))
            self.hooks.pre(block.norm2, partial(self._residual, i))
            self.hooks.post(block.attn2, partial(self._inject, i))

    # ----------------------------------------------------------------- hooks
    def _start(self, module: nn.Module, args: tuple, kwargs: dict[str, Any]) -> None:
        if self._call is not None:
            self._call.grid = token_grid(module, call_hidden_states(args, kwargs))
            self._call.scratch.clear()

    def _rope(self, module: nn.Module, args: tuple, output: Any) -> None:
        if self._call is not None and self._call.routing:
            self._call.rotary = output

    def _query(self, i: int, module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        if self._call is not None and self._call.routing:
            self._call.scratch["q"] = output

    def _key(self, i: int, module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        call = self._call
        if call is None or not call.routing:
            return
        heads = self.adapter.config.num_heads
        q = call.scratch.pop("q").unflatten(2, (heads, -1))
        k = output.unflatten(2, (heads, -1))
        if call.rotary is not None:
            q, k = apply_wan_rotary(q, *call.rotary), apply_wan_rotary(k, *call.rotary)
        _, h, w = call.grid
        amap = reference_attention_map(q, k, call.masks, h * w)
        call.scratch["positions"] = token_positions(amap)
        if self.keep_positions:
            self.last_positions[i] = call.scratch["positions"].detach().cpu()

    def _residual(self, i: int, module: nn.Module, args: tuple) -> None:
        if self._call is not None:
            # the block adds attn2's output to h in its own dtype; keep h in that dtype too
            self._call.scratch["h"] = args[0].to(self.transformer.blocks[i].attn2.to_out[0].weight.dtype)

    def _inject(self, i: int, module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor | None:
        call = self._call
        if call is None:
            return None
        x = call.scratch.pop("h") + output
        tokens = call.tokens.to(x.device)
        if tokens.shape[0] != x.shape[0]:
            tokens = tokens.expand(x.shape[0], -1, -1, -1)
        frames = call.grid[0]
        if tokens.shape[1] != frames:
            raise ValueError(f"audio tokens cover {tokens.shape[1]} latent frames, the latents have {frames}")
        positions = call.scratch.pop("positions", None) if call.routing else None
        residual = self.adapter(x, tokens, frames, i, positions, call.speakers)
        return output + residual.to(output.dtype)

    # ------------------------------------------------------------------- use
    @contextmanager
    def audio(self, tokens: torch.Tensor | None, speakers: int = 1,
              masks: torch.Tensor | None = None) -> Iterator[None]:
        """Inject ``tokens`` (1, latent frames, speakers·N, C) into transformer calls in this block.

        ``masks`` (speakers + 1, first-frame tokens) turn on two-speaker routing.
        """
        previous = self._call
        self._call = None if tokens is None else _Call(tokens, int(speakers), masks)
        try:
            yield
        finally:
            self._call = previous

    def remove(self) -> None:
        """Take the hooks off; the transformer is the plain backbone again."""
        self.hooks.remove()
