"""A lightweight decoder for Wan2.2 latents, for drafts and live previews.

The full Wan2.2 VAE decoder is a large causal 3-D network: on a 5-minute shot it costs
as much as several sampling steps. ``LightVAE`` is a small tiny-autoencoder-style
decoder distilled from it (:mod:`.train.light_vae`): it reads the same latents
(``z_dim`` 48 channels, one latent frame per 4 video frames after the first, 16×
spatial compression) and writes the same frames, only cheaper and a little softer.

Its layout: a 2-D conv stack per frame, *memory blocks* that see the previous frame's
features (so it is causal in time like the real decoder), three 2× nearest-neighbour
spatial upsamples, two 2× temporal "grow" layers that turn each latent frame into four
frames, and a final 2×2 pixel shuffle (Wan2.2's patchify). The first latent frame stands
for a single frame, so the first three grown frames are dropped: ``T`` latent frames
give ``4(T - 1) + 1`` frames, exactly like ``AutoencoderKLWan``.

It is a diffusers ``ModelMixin``/``ConfigMixin``: saved and loaded as safetensors with
``save_pretrained``/``from_pretrained``; :func:`load_light_vae` refuses pickled weights.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.autoencoders.vae import DecoderOutput
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

WEIGHTS_NAME = "diffusion_pytorch_model.safetensors"


class MemBlock(nn.Module):
    """Residual conv block that also sees the previous frame's input (causal memory)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(channels * 2, channels, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1),
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor, prev: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """``x``: (B, N, C, H, W); ``prev``: the frame before ``x[:, 0]`` or None (zeros)."""
        first = torch.zeros_like(x[:, :1]) if prev is None else prev[:, None]
        shifted = torch.cat([first, x[:, :-1]], dim=1)
        b, n = x.shape[:2]
        y = self.conv(torch.cat([x, shifted], dim=2).flatten(0, 1)).unflatten(0, (b, n))
        return self.act(x + y), x[:, -1]


class TemporalGrow(nn.Module):
    """Each frame becomes ``stride`` frames (a 1×1 conv to ``stride``× channels, then a reshape)."""

    def __init__(self, channels: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.conv = nn.Conv2d(channels, channels * stride, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c, h, w = x.shape
        y = self.conv(x.flatten(0, 1)).view(b, n, self.stride, c, h, w)
        return y.flatten(1, 2)


class LightVAE(ModelMixin, ConfigMixin):
    """Small causal decoder: Wan latents (B, C, T, h, w) → video (B, 3, 4(T-1)+1, 16h, 16w)."""

    config_name = "config.json"

    @register_to_config
    def __init__(
        self,
        latent_channels: int = 48,
        out_channels: int = 3,
        patch_size: int = 2,
        spatial_scale: int = 16,
        temporal_scale: int = 4,
        channels: tuple[int, ...] = (128, 96, 64, 48),
        blocks_per_stage: int = 1,
        latents_mean: list[float] | None = None,
        latents_std: list[float] | None = None,
    ) -> None:
        super().__init__()
        ups = math.log2(spatial_scale // patch_size)
        grows = math.log2(temporal_scale)
        if spatial_scale % patch_size or ups != int(ups) or grows != int(grows):
            raise ValueError("spatial_scale/patch_size and temporal_scale must be powers of two")
        ups, grows = int(ups), int(grows)
        if len(channels) != ups + 1:
            raise ValueError(f"channels needs {ups + 1} widths (one per spatial stage plus the output stage)")
        self.conv_in = nn.Conv2d(latent_channels, channels[0], 3, padding=1)
        self.stages = nn.ModuleList()
        self.grows = nn.ModuleList()
        self.outs = nn.ModuleList()
        for i in range(ups):
            self.stages.append(nn.ModuleList([MemBlock(channels[i]) for _ in range(blocks_per_stage)]))
            self.grows.append(TemporalGrow(channels[i], 2) if i < grows else nn.Identity())
            self.outs.append(nn.Conv2d(channels[i], channels[i + 1], 3, padding=1))
        self.final = nn.Sequential(
            nn.ReLU(inplace=True),
            nn.Conv2d(channels[-1], out_channels * patch_size * patch_size, 3, padding=1),
        )
        self.patch_size = patch_size

    # ----------------------------------------------------------------- core
    def _run(self, z: torch.Tensor, state: dict[int, torch.Tensor] | None) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
        """Decode latent frames ``z`` (B, C, T, h, w) given the memory of earlier frames."""
        state = {} if state is None else state
        new_state: dict[int, torch.Tensor] = {}
        x = z.permute(0, 2, 1, 3, 4)  # B, T, C, h, w
        b, n = x.shape[:2]
        x = torch.tanh(x / 3.0) * 3.0  # latents have heavy tails; keep the tiny net in range
        x = torch.relu(self.conv_in(x.flatten(0, 1))).unflatten(0, (b, n))
        slot = 0
        for blocks, grow, out in zip(self.stages, self.grows, self.outs):
            for block in blocks:
                x, new_state[slot] = block(x, state.get(slot))
                slot += 1
            x = grow(x)
            n = x.shape[1]
            x = nn.functional.interpolate(x.flatten(0, 1), scale_factor=2.0, mode="nearest")
            x = out(x).unflatten(0, (b, n))
        y = self.final(x.flatten(0, 1))
        y = nn.functional.pixel_shuffle(y, self.patch_size).unflatten(0, (b, n))
        return y.permute(0, 2, 1, 3, 4), new_state  # B, 3, frames, H, W

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Unclamped frames (B, 3, 4(T-1)+1, H, W) in about [-1, 1]; used for training."""
        video, _ = self._run(z, None)
        drop = self.config.temporal_scale - 1
        return video[:, :, drop:]

    def decode(self, z: torch.Tensor, return_dict: bool = True) -> DecoderOutput | tuple[torch.Tensor]:
        """Drop-in for ``AutoencoderKLWan.decode``: de-normalised latents → frames in [-1, 1]."""
        video = self.forward(z.to(self.dtype)).clamp(-1.0, 1.0)
        return DecoderOutput(sample=video) if return_dict else (video,)

    # ------------------------------------------------------------- streaming
    def denormalize(self, latents: torch.Tensor) -> torch.Tensor:
        """Pipeline latents ``(z - mean) / std`` → the VAE's raw latent space."""
        mean, std = self.config.latents_mean, self.config.latents_std
        if mean is None or std is None:
            return latents
        c = latents.shape[1]
        m = torch.tensor(mean, device=latents.device, dtype=latents.dtype).view(1, c, 1, 1, 1)
        s = torch.tensor(std, device=latents.device, dtype=latents.dtype).view(1, c, 1, 1, 1)
        return latents * s + m

    @torch.no_grad()
    def decode_frames(self, latents: torch.Tensor, group: int = 4) -> Iterator[np.ndarray]:
        """Normalised pipeline latents → uint8 frames (n, H, W, 3), ``group`` latent frames at a time.

        The causal memory is carried between groups, so the result equals a one-shot
        decode while only one group's frames are ever in memory.
        """
        device = next(self.parameters()).device
        z = self.denormalize(latents.to(device=device, dtype=torch.float32)).to(self.dtype)
        state: dict[int, torch.Tensor] | None = None
        drop = self.config.temporal_scale - 1
        for start in range(0, z.shape[2], group):
            video, state = self._run(z[:, :, start : start + group], state)
            if start == 0:
                video = video[:, :, drop:]
            yield to_uint8(video.clamp(-1.0, 1.0))

    @torch.no_grad()
    def preview_frame(self, latents: torch.Tensor, frame: int | None = None) -> np.ndarray:
        """One RGB frame (H, W, 3) uint8 of latent frame ``frame`` (middle by default), decoded alone."""
        t = latents.shape[2] // 2 if frame is None else frame
        device = next(self.parameters()).device
        z = self.denormalize(latents[:, :, t : t + 1].to(device=device, dtype=torch.float32)).to(self.dtype)
        video, _ = self._run(z, None)
        return to_uint8(video[:, :, -1:].clamp(-1.0, 1.0))[0]


def to_uint8(video: torch.Tensor) -> np.ndarray:
    """(1, 3, n, H, W) in [-1, 1] → (n, H, W, 3) uint8."""
    frames = video[0].permute(1, 2, 3, 0).float().add(1.0).mul(127.5).round().clamp(0, 255)
    return frames.to(torch.uint8).cpu().numpy()


def light_vae_for(vae_config: Any, channels: tuple[int, ...] = (128, 96, 64, 48), blocks_per_stage: int = 1) -> LightVAE:
    """A fresh ``LightVAE`` matching an ``AutoencoderKLWan`` config (channels, scales, latent stats)."""
    cfg = dict(vae_config)
    patch = cfg.get("patch_size") or 1
    out = int(cfg.get("out_channels", 3)) // (patch * patch) if cfg.get("patch_size") else int(cfg.get("out_channels", 3))
    return LightVAE(
        latent_channels=int(cfg["z_dim"]),
        out_channels=out,
        patch_size=patch,
        spatial_scale=int(cfg.get("scale_factor_spatial") or 8),
        temporal_scale=int(cfg.get("scale_factor_temporal") or 4),
        channels=tuple(channels),
        blocks_per_stage=blocks_per_stage,
        latents_mean=list(cfg.get("latents_mean") or []) or None,
        latents_std=list(cfg.get("latents_std") or []) or None,
    )


def check_compatible(light: LightVAE, vae_config: Any) -> None:
    """Raise ValueError when ``light`` cannot stand in for a VAE with ``vae_config``."""
    cfg = dict(vae_config)
    problems = []
    if light.config.latent_channels != int(cfg["z_dim"]):
        problems.append(f"light VAE reads {light.config.latent_channels} latent channels, the model makes {cfg['z_dim']}")
    for ours, theirs, default in (("spatial_scale", "scale_factor_spatial", 8), ("temporal_scale", "scale_factor_temporal", 4)):
        if getattr(light.config, ours) != int(cfg.get(theirs) or default):
            problems.append(f"{ours} {getattr(light.config, ours)} differs from the VAE's {cfg.get(theirs)}")
    for key in ("latents_mean", "latents_std"):
        ours_stats, theirs_stats = getattr(light.config, key), cfg.get(key)
        if ours_stats is not None and theirs_stats is not None:
            if not np.allclose(np.asarray(ours_stats, dtype=np.float64), np.asarray(theirs_stats, dtype=np.float64)):
                problems.append(f"{key} differs from the VAE's: the light VAE was distilled from another VAE")
    if problems:
        raise ValueError("; ".join(problems))


def load_light_vae(
    folder: str | os.PathLike[str], device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32
) -> LightVAE:
    """Load a user-supplied light VAE folder (``config.json`` + safetensors); pickles are refused."""
    from engine.backends.soul.errors import ModelFolderError
    from engine.backends.soul.folder import find_pickles

    root = Path(folder)
    if not (root / "config.json").is_file():
        raise ModelFolderError(f"{root} is not a light VAE folder (no config.json)",
                               hint="choose the folder written by the light VAE training script")
    pickles = find_pickles(root)
    if pickles:
        raise ModelFolderError(
            f"the light VAE folder holds pickled weights ({', '.join(pickles)})",
            hint="pickles can run code when loaded; convert the weights to .safetensors",
            problems=[f"pickle: {p}" for p in pickles],
        )
    if not (root / WEIGHTS_NAME).is_file():
        raise ModelFolderError(f"{root} has no {WEIGHTS_NAME}", hint="save the light VAE with safe serialization")
    try:
        model = LightVAE.from_pretrained(root, use_safetensors=True, torch_dtype=dtype)
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelFolderError(f"the light VAE in {root} cannot be loaded: {exc}") from exc
    return model.to(device).eval()
