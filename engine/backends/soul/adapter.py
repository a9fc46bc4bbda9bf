"""Audio-injection layers for the Wan DiT, placed as the Soul paper places them.

Every DiT block gets an audio cross-attention right after its text cross-attention
(``attn2``). It reads the same normalised hidden states ``attn2`` reads (the block's
``norm2`` output), attends, per latent frame, to the audio tokens of that frame, and its
result is added to the block's residual stream next to the text attention's::

    h = h + attn2(norm2(h), text) + gate ⊙ audio_attn(norm2(h), audio)

``audio_attn`` is *copy-initialised* from ``attn2`` (same q/k/v/out projections and q/k
RMS norms: the layer starts out knowing how this block reads a conditioning sequence)
and ``gate`` is a per-channel vector that starts at zero, so an untrained adapter adds
exactly zero and the backbone's output is unchanged bit for bit.

``SoulAudioAdapter.project_audio`` turns per-video-frame audio windows (from
:mod:`.audio`) into tokens of the DiT's width. The Wan2.2 VAE packs 4 video frames into
one latent frame and keeps the first (portrait) frame alone, so frame 0 is padded to 4
copies of video frame 0 and every latent frame gets ``4·tokens_per_frame`` tokens.

The backbone is not forked: :class:`AudioInjection` registers a forward pre-hook on the
``WanTransformer3DModel`` (to learn the latent grid of the call) and a forward hook on
each ``blocks[i].attn2`` that returns ``attn2_out + audio residual``. Hooks survive
diffusers' CPU offload and gradient checkpointing, which still call the modules;
``AudioInjection.remove()`` restores the plain backbone.
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

COPIED = ("to_q", "to_k", "to_v", "norm_q", "norm_k")


class AudioProjection(nn.Module):
    """One video frame's audio window (window × layers × width) → ``tokens`` tokens of width ``dim``."""

    def __init__(self, in_features: int, proj_dim: int, tokens: int, dim: int, eps: float) -> None:
        super().__init__()
        self.tokens, self.dim = tokens, dim
        self.fc1 = nn.Linear(in_features, proj_dim)
        self.fc2 = nn.Linear(proj_dim, proj_dim)
        self.fc3 = nn.Linear(proj_dim, tokens * dim)
        self.norm = nn.LayerNorm(dim, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (..., in_features) -> (..., tokens, dim)
        x = F.silu(self.fc1(x))
        x = F.silu(self.fc2(x))
        x = self.fc3(x).unflatten(-1, (self.tokens, self.dim))
        return self.norm(x)


class AudioAttention(nn.Module):
    """Frame-local cross-attention shaped like Wan's ``attn2``, with a zero-initialised output gate."""

    def __init__(self, dim: int, num_heads: int, eps: float, qk_norm: bool = True) -> None:
        super().__init__()
        self.heads = num_heads
        self.to_q = nn.Linear(dim, dim)
        self.to_k = nn.Linear(dim, dim)
        self.to_v = nn.Linear(dim, dim)
        self.norm_q = nn.RMSNorm(dim, eps=eps) if qk_norm else nn.Identity()
        self.norm_k = nn.RMSNorm(dim, eps=eps) if qk_norm else nn.Identity()
        self.to_out = nn.Linear(dim, dim)
        self.gate = nn.Parameter(torch.zeros(dim))

    @torch.no_grad()
    def copy_from(self, attn2: nn.Module) -> None:
        """Copy the projections and q/k norms of a Wan ``WanAttention`` (the block's text attention)."""
        for name in COPIED:
            src, dst = getattr(attn2, name), getattr(self, name)
            if isinstance(dst, nn.Identity):
                continue
            for pname, p in dst.named_parameters():
                p.copy_(getattr(src, pname).to(p.dtype))
        self.to_out.weight.copy_(attn2.to_out[0].weight.to(self.to_out.weight.dtype))
        self.to_out.bias.copy_(attn2.to_out[0].bias.to(self.to_out.bias.dtype))

    def attend(self, hidden_states: torch.Tensor, audio_tokens: torch.Tensor, frames: int) -> torch.Tensor:
        """Ungated attention: ``hidden_states`` (B, frames·n, D), ``audio_tokens`` (B, frames, N, D)."""
        b, seq, dim = hidden_states.shape
        per_frame = seq // frames
        heads, head_dim = self.heads, dim // self.heads
        q = self.norm_q(self.to_q(hidden_states)).view(b * frames, per_frame, heads, head_dim).transpose(1, 2)
        n = audio_tokens.shape[2]
        tokens = audio_tokens.reshape(b * frames, n, dim)
        k = self.norm_k(self.to_k(tokens)).view(b * frames, n, heads, head_dim).transpose(1, 2)
        v = self.to_v(tokens).view(b * frames, n, heads, head_dim).transpose(1, 2)
        out = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, seq, dim)
        return self.to_out(out)

    def forward(self, hidden_states: torch.Tensor, audio_tokens: torch.Tensor, frames: int) -> torch.Tensor:
        return self.gate * self.attend(hidden_states, audio_tokens, frames)


class SoulAudioAdapter(ModelMixin, ConfigMixin):
    """Audio projection plus one :class:`AudioAttention` per DiT block.

    Args:
        audio_dim: width of the audio encoder's hidden states (1280 for whisper-large-v3).
        audio_layers: how many encoder hidden states are stacked per frame (32 for whisper-large-v3).
        audio_encoder_type: ``"whisper"`` or ``"wav2vec2"``: which encoder's features it was trained on.
        context_frames: video frames of audio context on each side of a frame.
        temporal_stride: video frames per latent frame (the VAE's temporal factor).
        tokens_per_frame: audio tokens made from one video frame's window.
        proj_dim: hidden width of the audio projection.
        model_dim / num_heads / num_blocks: the DiT's width, heads and depth.
        qk_norm: RMS-normalise queries and keys, as Wan's ``rms_norm_across_heads`` does.
    """

    config_name = "config.json"

    @register_to_config
    def __init__(
        self,
        audio_dim: int = 1280,
        audio_layers: int = 32,
        audio_encoder_type: str = "whisper",
        context_frames: int = 2,
        temporal_stride: int = 4,
        tokens_per_frame: int = 4,
        proj_dim: int = 1024,
        model_dim: int = 3072,
        num_heads: int = 24,
        num_blocks: int = 30,
        qk_norm: bool = True,
        eps: float = 1e-6,
    ) -> None:
        super().__init__()
        if model_dim % num_heads:
            raise ValueError(f"model_dim {model_dim} is not divisible by num_heads {num_heads}")
        if audio_encoder_type not in ("whisper", "wav2vec2"):
            raise ValueError(f"audio_encoder_type must be whisper or wav2vec2, got {audio_encoder_type!r}")
        window = 2 * context_frames + 1
        self.proj = AudioProjection(window * audio_layers * audio_dim, proj_dim, tokens_per_frame, model_dim, eps)
        self.layers = nn.ModuleList(AudioAttention(model_dim, num_heads, eps, qk_norm) for _ in range(num_blocks))

    @classmethod
    def for_transformer(cls, transformer: nn.Module, **config: Any) -> SoulAudioAdapter:
        """A new adapter sized for ``transformer`` and copy-initialised from its text attentions."""
        cfg = transformer.config
        adapter = cls(model_dim=cfg.num_attention_heads * cfg.attention_head_dim, num_heads=cfg.num_attention_heads,
                      num_blocks=cfg.num_layers, qk_norm=cfg.qk_norm is not None, eps=cfg.eps, **config)
        adapter.copy_init(transformer)
        return adapter

    def copy_init(self, transformer: nn.Module) -> None:
        """Copy every block's text cross-attention into its audio attention; gates stay as they are."""
        for layer, block in zip(self.layers, transformer.blocks, strict=True):
            layer.copy_from(block.attn2)

    @property
    def window(self) -> int:
        return 2 * self.config.context_frames + 1

    def project_audio(self, features: torch.Tensor) -> torch.Tensor:
        """Per-frame windows (B, F, window, layers, dim), F = 4k+1 → tokens (B, k+1, 4·N, model_dim).

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
        tokens = self.proj(x)  # (B, F, N, D)
        first = tokens[:, :1].expand(-1, stride - 1, -1, -1)
        tokens = torch.cat([first, tokens], dim=1)  # (B, stride·(k+1), N, D)
        latent_frames = tokens.shape[1] // stride
        return tokens.reshape(b, latent_frames, stride * tokens.shape[2], tokens.shape[3])

    def forward(self, hidden_states: torch.Tensor, audio_tokens: torch.Tensor, frames: int, layer: int) -> torch.Tensor:
        """The residual audio attention ``layer`` adds next to block ``layer``'s text attention."""
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
        for layer, block in enumerate(transformer.blocks):
            self._handles.append(block.attn2.register_forward_hook(partial(self._inject, layer), with_kwargs=True))

    def _capture_grid(self, module: nn.Module, args: tuple, kwargs: dict[str, Any]) -> None:
        hidden = kwargs.get("hidden_states", args[0] if args else None)
        if hidden is not None:
            self._frames = int(hidden.shape[2]) // int(module.config.patch_size[0])

    def _inject(self, layer: int, module: nn.Module, args: tuple, kwargs: dict[str, Any],
                output: torch.Tensor) -> torch.Tensor | None:
        if self._tokens is None:
            return None
        query = kwargs.get("hidden_states", args[0] if args else None)  # norm2(h), what attn2 read
        residual = self.adapter(query, self._tokens.to(output.device), self._frames, layer)
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
