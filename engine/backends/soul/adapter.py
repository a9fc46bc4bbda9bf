"""Audio-injection layers for the Wan DiT, and the hooks that add them to its blocks.

``SoulAudioAdapter`` turns per-video-frame audio windows (from :mod:`.audio`) into a few
audio tokens per video frame, and holds one audio cross-attention per injected DiT
block. The tokens of latent frame ``j`` attend only to the audio of the video frames
that frame covers: the Wan2.2 VAE packs 4 video frames into one latent frame and keeps
the first (portrait) frame alone, so frame 0 is padded to 4 copies of video frame 0.

Each cross-attention's output projection starts at zero, so an untrained adapter adds
exactly zero and the backbone's output is unchanged bit for bit.

The backbone is not forked: :class:`AudioInjection` registers a forward pre-hook on the
``WanTransformer3DModel`` (to learn the latent grid of the call) and a forward hook on
each selected ``transformer.blocks[i]`` that returns ``output + adapter(output, ...)``.
Hooks survive diffusers' CPU offload and gradient checkpointing, which both still call
``block(...)``; ``AudioInjection.remove()`` restores the plain backbone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn


class AudioProjection(nn.Module):
    """One video frame's audio window (window × layers × width) → ``tokens`` audio tokens."""

    def __init__(self, in_features: int, proj_dim: int, tokens: int, cross_dim: int, eps: float) -> None:
        super().__init__()
        self.tokens, self.cross_dim = tokens, cross_dim
        self.fc1 = nn.Linear(in_features, proj_dim)
        self.fc2 = nn.Linear(proj_dim, proj_dim)
        self.fc3 = nn.Linear(proj_dim, tokens * cross_dim)
        self.norm = nn.LayerNorm(cross_dim, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (..., in_features) -> (..., tokens, cross_dim)
        x = F.silu(self.fc1(x))
        x = F.silu(self.fc2(x))
        x = self.fc3(x).unflatten(-1, (self.tokens, self.cross_dim))
        return self.norm(x)


class AudioCrossAttention(nn.Module):
    """Frame-local cross-attention: tokens of latent frame j attend to that frame's audio."""

    def __init__(self, model_dim: int, cross_dim: int, num_heads: int, eps: float) -> None:
        super().__init__()
        self.heads = num_heads
        self.norm = nn.LayerNorm(model_dim, eps=eps, elementwise_affine=False)
        self.to_q = nn.Linear(model_dim, model_dim)
        self.to_k = nn.Linear(cross_dim, model_dim)
        self.to_v = nn.Linear(cross_dim, model_dim)
        self.norm_q = nn.RMSNorm(model_dim, eps=eps)
        self.norm_k = nn.RMSNorm(model_dim, eps=eps)
        self.to_out = nn.Linear(model_dim, model_dim)
        nn.init.zeros_(self.to_out.weight)
        nn.init.zeros_(self.to_out.bias)

    def forward(self, hidden_states: torch.Tensor, audio_tokens: torch.Tensor, frames: int) -> torch.Tensor:
        """``hidden_states`` (B, frames·h·w, D), ``audio_tokens`` (B, frames, N, C) → (B, frames·h·w, D)."""
        b, seq, dim = hidden_states.shape
        per_frame = seq // frames
        heads, head_dim = self.heads, dim // self.heads
        q = self.norm_q(self.to_q(self.norm(hidden_states)))
        q = q.view(b * frames, per_frame, heads, head_dim).transpose(1, 2)
        n = audio_tokens.shape[2]
        tokens = audio_tokens.reshape(b * frames, n, -1)
        k = self.norm_k(self.to_k(tokens)).view(b * frames, n, heads, head_dim).transpose(1, 2)
        v = self.to_v(tokens).view(b * frames, n, heads, head_dim).transpose(1, 2)
        out = F.scaled_dot_product_attention(q, k, v)
        out = out.transpose(1, 2).reshape(b, seq, dim)
        return self.to_out(out)


class SoulAudioAdapter(ModelMixin, ConfigMixin):
    """Audio projection plus one :class:`AudioCrossAttention` per injected DiT block.

    Args:
        audio_dim: width of the audio encoder's hidden states (768 for wav2vec2-base).
        audio_layers: how many encoder hidden states are stacked per frame.
        context_frames: video frames of audio context on each side of a frame.
        temporal_stride: video frames per latent frame (the VAE's temporal factor).
        tokens_per_frame: audio tokens made from one video frame's window.
        proj_dim / cross_dim: hidden and output width of the audio projection.
        model_dim / num_heads / num_blocks: the DiT's width, heads and depth.
        inject_every: cross-attend after every k-th block, starting at block 0.
    """

    config_name = "config.json"

    @register_to_config
    def __init__(
        self,
        audio_dim: int = 768,
        audio_layers: int = 12,
        context_frames: int = 2,
        temporal_stride: int = 4,
        tokens_per_frame: int = 4,
        proj_dim: int = 1024,
        cross_dim: int = 768,
        model_dim: int = 3072,
        num_heads: int = 24,
        num_blocks: int = 30,
        inject_every: int = 1,
        eps: float = 1e-6,
    ) -> None:
        super().__init__()
        if model_dim % num_heads:
            raise ValueError(f"model_dim {model_dim} is not divisible by num_heads {num_heads}")
        if inject_every < 1:
            raise ValueError("inject_every must be at least 1")
        window = 2 * context_frames + 1
        self.proj = AudioProjection(window * audio_layers * audio_dim, proj_dim, tokens_per_frame, cross_dim, eps)
        self.layers = nn.ModuleList(
            AudioCrossAttention(model_dim, cross_dim, num_heads, eps) for _ in range(len(self.block_indices))
        )

    @property
    def block_indices(self) -> list[int]:
        """Indices of the DiT blocks whose output receives audio."""
        return list(range(0, self.config.num_blocks, self.config.inject_every))

    @property
    def window(self) -> int:
        return 2 * self.config.context_frames + 1

    def project_audio(self, features: torch.Tensor) -> torch.Tensor:
        """Per-frame windows (B, F, window, layers, dim), F = 4k+1 → tokens (B, k+1, 4·N, cross_dim).

        Computed once per clip: the tokens do not change across sampling steps.
        """
        if features.ndim == 4:
            features = features.unsqueeze(0)
        b, frames = features.shape[:2]
        stride = self.config.temporal_stride
        if (frames - 1) % stride:
            raise ValueError(f"audio covers {frames} frames; soul needs {stride}k+1")
        param = next(self.proj.parameters())
        x = features.to(device=param.device, dtype=param.dtype).flatten(2)
        tokens = self.proj(x)  # (B, F, N, C)
        first = tokens[:, :1].expand(-1, stride - 1, -1, -1)
        tokens = torch.cat([first, tokens], dim=1)  # (B, stride·(k+1), N, C)
        latent_frames = tokens.shape[1] // stride
        return tokens.reshape(b, latent_frames, stride * tokens.shape[2], tokens.shape[3])

    def forward(self, hidden_states: torch.Tensor, audio_tokens: torch.Tensor, frames: int, layer: int) -> torch.Tensor:
        """The residual that layer ``layer`` adds to a block's output."""
        if audio_tokens.shape[0] != hidden_states.shape[0]:
            audio_tokens = audio_tokens.expand(hidden_states.shape[0], -1, -1, -1)
        if audio_tokens.shape[1] != frames:
            raise ValueError(f"audio tokens cover {audio_tokens.shape[1]} latent frames, latents have {frames}")
        attn = self.layers[layer]
        x = hidden_states.to(attn.to_q.weight.dtype)
        return attn(x, audio_tokens.to(x.dtype), frames)


class AudioInjection:
    """Adds a :class:`SoulAudioAdapter` to a ``WanTransformer3DModel`` through hooks.

    Use ``with injection.audio(tokens): transformer(...)``; outside the block (or with
    ``tokens=None``) the transformer runs exactly as the plain backbone.
    """

    def __init__(self, transformer: nn.Module, adapter: SoulAudioAdapter) -> None:
        cfg = transformer.config
        width = cfg.num_attention_heads * cfg.attention_head_dim
        if adapter.config.num_blocks != len(transformer.blocks):
            raise ValueError(f"adapter expects {adapter.config.num_blocks} blocks, transformer has {len(transformer.blocks)}")
        if adapter.config.model_dim != width:
            raise ValueError(f"adapter width {adapter.config.model_dim} != transformer width {width}")
        self.transformer = transformer
        self.adapter = adapter
        self._tokens: torch.Tensor | None = None
        self._frames = 0
        self._handles = [transformer.register_forward_pre_hook(self._capture_grid, with_kwargs=True)]
        for layer, index in enumerate(adapter.block_indices):
            self._handles.append(transformer.blocks[index].register_forward_hook(partial(self._inject, layer)))

    def _capture_grid(self, module: nn.Module, args: tuple, kwargs: dict[str, Any]) -> None:
        hidden = kwargs.get("hidden_states", args[0] if args else None)
        if hidden is not None:
            self._frames = int(hidden.shape[2]) // int(module.config.patch_size[0])

    def _inject(self, layer: int, module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor | None:
        if self._tokens is None:
            return None
        residual = self.adapter(output, self._tokens.to(output.device), self._frames, layer)
        return output + residual.to(output.dtype)

    @contextmanager
    def audio(self, tokens: torch.Tensor | None) -> Iterator[None]:
        """Inject ``tokens`` (from ``adapter.project_audio``) into transformer calls in this block."""
        previous = self._tokens
        self._tokens = tokens
        try:
            yield
        finally:
            self._tokens = previous

    def remove(self) -> None:
        """Take the hooks off; the transformer is the plain backbone again."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
