"""InfiniteTalk's audio layers as plain PyTorch modules, loadable from the published file.

``InfiniteTalkAdapter`` (a diffusers ``ModelMixin``/``ConfigMixin``) holds:

* ``audio_proj`` (:class:`AudioProjModel`): per-video-frame Wav2Vec2 windows (all layers
  stacked) → ``context_tokens`` audio tokens per *latent* frame. The first latent frame
  (the portrait, one video frame) sees that frame's 5-frame window; every later latent
  frame covers 4 video frames and sees the left half of its first frame's window, the
  centres of the middle ones and the right half of its last one (5 + 4 − 1 = 8 frames).
  Two MLP inputs (``proj_first``/``proj_latter``) meet in a shared ReLU MLP.
* ``layers[i]`` (:class:`AudioCrossAttention`): after the text/image cross-attention of DiT
  block ``i``, ``x += attn(norm(x), audio)`` where the tokens of latent frame ``j`` attend
  only to frame ``j``'s audio tokens. With two speakers the queries and keys are rotated
  by the positions of :mod:`.routing`.

:meth:`InfiniteTalkAdapter.from_published` loads ``single``/``multi`` ``infinitetalk.safetensors``
as released, through the name table of :mod:`.keys`, strictly.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from engine.backends.infinitetalk import keys
from engine.backends.infinitetalk.routing import audio_positions, rope_1d


class AudioProjModel(nn.Module):
    """Audio windows of one latent frame → ``tokens`` audio tokens of width ``cross_dim``."""

    def __init__(self, first_in: int, latter_in: int, inter: int, tokens: int, cross_dim: int,
                 norm: bool, eps: float) -> None:
        super().__init__()
        self.tokens, self.cross_dim = tokens, cross_dim
        self.proj_first = nn.Linear(first_in, inter)
        self.proj_latter = nn.Linear(latter_in, inter)
        self.proj_mid = nn.Linear(inter, inter)
        self.proj_tokens = nn.Linear(inter, tokens * cross_dim)
        self.norm = nn.LayerNorm(cross_dim, eps=eps) if norm else nn.Identity()

    def forward(self, first: torch.Tensor, latter: torch.Tensor) -> torch.Tensor:
        """``first`` (B, 1, ...) and ``latter`` (B, T−1, ...) windows → (B, T, tokens, cross_dim)."""
        a = torch.relu(self.proj_first(first.flatten(2)))
        b = torch.relu(self.proj_latter(latter.flatten(2)))
        x = torch.relu(self.proj_mid(torch.cat([a, b], dim=1)))
        x = self.proj_tokens(x).unflatten(-1, (self.tokens, self.cross_dim))
        if isinstance(self.norm, nn.LayerNorm):  # in float32 whatever the weights' dtype (the reference's autocast)
            norm = self.norm
            x = F.layer_norm(x.float(), (self.cross_dim,), norm.weight.float(), norm.bias.float(), norm.eps).to(x.dtype)
        return x


class AudioCrossAttention(nn.Module):
    """Frame-local audio cross-attention of one DiT block (no q/k norm, biases on)."""

    def __init__(self, dim: int, cross_dim: int, heads: int, eps: float) -> None:
        super().__init__()
        self.heads = heads
        self.norm = nn.LayerNorm(dim, eps=eps, elementwise_affine=True)
        self.to_q = nn.Linear(dim, dim)
        self.to_kv = nn.Linear(cross_dim, 2 * dim)
        self.to_out = nn.Linear(dim, dim)

    def forward(self, hidden_states: torch.Tensor, audio_tokens: torch.Tensor, frames: int,
                query_positions: torch.Tensor | None = None, speakers: int = 1) -> torch.Tensor:
        """Residual for ``hidden_states`` (B, frames·S, D) from ``audio_tokens`` (B, frames, M, C).

        ``query_positions`` (B, frames·S) switches on two-speaker routing: the queries are
        rotated by them and the audio keys by each speaker's band centre.
        """
        b, seq, dim = hidden_states.shape
        heads, head_dim, per_frame = self.heads, dim // self.heads, seq // frames
        x = F.layer_norm(hidden_states.float(), (dim,), self.norm.weight.float(), self.norm.bias.float(),
                         self.norm.eps).to(self.to_q.weight.dtype)
        q = self.to_q(x).view(b, seq, heads, head_dim).transpose(1, 2)  # (B, H, seq, d)
        m = audio_tokens.shape[2]
        k, v = self.to_kv(audio_tokens.to(x.dtype)).chunk(2, dim=-1)  # (B, frames, M, D) each
        k = k.reshape(b * frames, m, heads, head_dim).transpose(1, 2)
        v = v.reshape(b * frames, m, heads, head_dim).transpose(1, 2)
        if query_positions is not None and speakers > 1:
            q = rope_1d(q, query_positions)
            k = rope_1d(k, audio_positions(m // speakers, speakers, device=k.device))
        q = q.reshape(b, heads, frames, per_frame, head_dim).permute(0, 2, 1, 3, 4).reshape(
            b * frames, heads, per_frame, head_dim)
        out = F.scaled_dot_product_attention(q, k, v)  # (B·frames, H, S, d)
        out = out.reshape(b, frames, heads, per_frame, head_dim).permute(0, 1, 3, 2, 4).reshape(b, seq, dim)
        return self.to_out(out)


def latent_audio_windows(windows: torch.Tensor, stride: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-video-frame windows (B, 4k+1, W, L, C) → (first (B, 1, W, ...), latter (B, k, W+stride−1, ...))."""
    frames, width = windows.shape[1], windows.shape[2]
    if (frames - 1) % stride:
        raise ValueError(f"audio covers {frames} frames; InfiniteTalk windows hold {stride}k+1 frames")
    mid = width // 2
    first = windows[:, :1]
    groups = windows[:, 1:].unflatten(1, ((frames - 1) // stride, stride))  # (B, k, stride, W, L, C)
    head = groups[:, :, 0, : mid + 1]
    centre = groups[:, :, 1:-1, mid]
    tail = groups[:, :, -1, mid:]
    return first, torch.cat([head, centre, tail], dim=2)


class InfiniteTalkAdapter(ModelMixin, ConfigMixin):
    """The audio projection and the per-block audio cross-attentions of InfiniteTalk.

    Args:
        audio_dim / audio_layers: width and depth of the Wav2Vec2 encoder (768 / 12).
        audio_window: video frames of audio context per frame (5: two on each side).
        temporal_stride: video frames per latent frame (the Wan VAE's 4).
        intermediate_dim / cross_dim / context_tokens: projection MLP width, audio token
            width and tokens per latent frame (512 / 768 / 32).
        model_dim / num_heads / num_blocks: the DiT's width, heads and depth (5120 / 40 / 40).
    """

    config_name = "config.json"

    @register_to_config
    def __init__(
        self,
        audio_dim: int = 768,
        audio_layers: int = 12,
        audio_window: int = 5,
        temporal_stride: int = 4,
        intermediate_dim: int = 512,
        cross_dim: int = 768,
        context_tokens: int = 32,
        model_dim: int = 5120,
        num_heads: int = 40,
        num_blocks: int = 40,
        norm_output_audio: bool = True,
        eps: float = 1e-6,
        proj_norm_eps: float = 1e-5,
    ) -> None:
        super().__init__()
        if model_dim % num_heads:
            raise ValueError(f"model_dim {model_dim} is not divisible by num_heads {num_heads}")
        per_frame = audio_layers * audio_dim
        self.audio_proj = AudioProjModel(
            audio_window * per_frame, (audio_window + temporal_stride - 1) * per_frame, intermediate_dim,
            context_tokens, cross_dim, norm_output_audio, proj_norm_eps,
        )
        self.layers = nn.ModuleList(
            AudioCrossAttention(model_dim, cross_dim, num_heads, eps) for _ in range(num_blocks)
        )

    def project(self, windows: torch.Tensor) -> torch.Tensor:
        """Per-frame windows (speakers, 4k+1, window, layers, width) → tokens (speakers, k+1, N, cross_dim)."""
        if windows.ndim == 4:
            windows = windows[None]
        param = self.audio_proj.proj_first.weight
        first, latter = latent_audio_windows(windows.to(param.device, param.dtype), self.config.temporal_stride)
        return self.audio_proj(first, latter)

    def forward(self, hidden_states: torch.Tensor, audio_tokens: torch.Tensor, frames: int, layer: int,
                query_positions: torch.Tensor | None = None, speakers: int = 1) -> torch.Tensor:
        """The residual block ``layer`` adds after its cross-attention."""
        return self.layers[layer](hidden_states, audio_tokens, frames, query_positions, speakers)

    # ------------------------------------------------------------ published file
    @classmethod
    def config_for(cls, path: str | os.PathLike[str], num_heads: int, audio_layers: int = 12,
                   audio_dim: int = 768) -> dict[str, Any]:
        """The config implied by a published file's header (no tensor is read)."""
        from engine.backends.soul.folder import read_safetensors_header

        try:
            header = read_safetensors_header(path)
        except (OSError, ValueError) as exc:
            raise keys.AdapterFileError(f"{path} is not a readable safetensors file ({exc})",
                                        hint="download the adapter file again") from exc
        shapes = {k: tuple(v["shape"]) for k, v in header.items()}
        return keys.config_from_shapes(shapes, num_heads, audio_layers, audio_dim)

    @classmethod
    def from_published(cls, path: str | os.PathLike[str], config: dict[str, Any] | None = None,
                       num_heads: int | None = None, audio_layers: int = 12, audio_dim: int = 768,
                       torch_dtype: torch.dtype | None = None, device: str | torch.device = "cpu"
                       ) -> InfiniteTalkAdapter:
        """Load a released ``infinitetalk.safetensors`` strictly (every tensor named, none extra).

        ``config`` defaults to the one implied by the file (then ``num_heads`` is required).
        """
        from safetensors.torch import load_file

        path = Path(path)
        if config is None:
            if num_heads is None:
                raise ValueError("num_heads is needed to build an adapter from a published file alone")
            config = cls.config_for(path, num_heads, audio_layers, audio_dim)
        with torch.device("meta"):
            model = cls.from_config(config)
        try:
            state = load_file(str(path), device=str(device))
        except (OSError, ValueError, RuntimeError) as exc:
            raise keys.AdapterFileError(f"{path} could not be read ({exc})", hint="download the adapter file again") from exc
        ours = keys.convert_published(state, dict(model.config), source=str(path))
        if torch_dtype is not None:
            ours = {k: v.to(torch_dtype) for k, v in ours.items()}
        model.load_state_dict(ours, strict=True, assign=True)
        return model.eval().requires_grad_(False)

    def to_published(self) -> dict[str, torch.Tensor]:
        """Our state dict under the published names (the inverse of the table, for writing files)."""
        ours_to_published: dict[str, str] = {}
        for name in keys.published_shapes(dict(self.config)):
            ours_to_published[keys.to_ours(name)] = name
        return {ours_to_published[k]: v for k, v in self.state_dict().items()}
