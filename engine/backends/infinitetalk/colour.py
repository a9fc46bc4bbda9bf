"""Colour anchoring between streaming windows: CIE Lab mean/std transfer.

Long InfiniteTalk shots drift in colour from window to window. The reference corrects
every decoded frame by matching its per-channel Lab mean and standard deviation to the
portrait's and blending with ``strength``. :func:`match_frames` does that (``per_frame``),
or matches each window's *overall* statistics to a target (the first window's) with one
transform per window, which keeps lighting changes inside a window.

Lab conversion is the standard sRGB (D65) one, vectorised in torch.
"""

from __future__ import annotations

import torch

_RGB_TO_XYZ = torch.tensor([[0.412453, 0.357580, 0.180423],
                            [0.212671, 0.715160, 0.072169],
                            [0.019334, 0.119193, 0.950227]])
_WHITE = torch.tensor([0.950456, 1.0, 1.088754])
_EPS = 216 / 24389
_KAPPA = 24389 / 27


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """(..., 3) sRGB in [0, 1] → (..., 3) Lab (L in [0, 100])."""
    rgb = rgb.float().clamp(0, 1)
    linear = torch.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = linear @ _RGB_TO_XYZ.to(rgb.device).T / _WHITE.to(rgb.device)
    f = torch.where(xyz > _EPS, xyz.clamp_min(1e-12) ** (1 / 3), (_KAPPA * xyz + 16) / 116)
    return torch.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], dim=-1)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """(..., 3) Lab → (..., 3) sRGB clipped to [0, 1]."""
    lab = lab.float()
    fy = (lab[..., 0] + 16) / 116
    fx, fz = fy + lab[..., 1] / 500, fy - lab[..., 2] / 200
    f = torch.stack([fx, fy, fz], dim=-1)
    xyz = torch.where(f ** 3 > _EPS, f ** 3, (116 * f - 16) / _KAPPA) * _WHITE.to(lab.device)
    linear = (xyz @ torch.linalg.inv(_RGB_TO_XYZ).to(lab.device).T).clamp_min(0)
    rgb = torch.where(linear > 0.0031308, 1.055 * linear.clamp_min(1e-12) ** (1 / 2.4) - 0.055, 12.92 * linear)
    return rgb.clamp(0, 1)


def lab_stats(lab: torch.Tensor, dims: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    return lab.mean(dim=dims), lab.std(dim=dims, unbiased=False)


def match_frames(frames: torch.Tensor, target_mean: torch.Tensor, target_std: torch.Tensor,
                 strength: float = 1.0, per_frame: bool = True) -> torch.Tensor:
    """Frames (n, H, W, 3) RGB in [0, 1] → the same with Lab statistics moved to the target.

    ``per_frame``: each frame's own mean/std (the reference); else one transform from the
    statistics of all frames together. Channels without variation take the target mean.
    """
    if strength <= 0:
        return frames
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"colour strength must lie in [0, 1], got {strength}")
    lab = rgb_to_lab(frames)
    dims = (1, 2) if per_frame else (0, 1, 2)
    mean, std = lab_stats(lab, dims)
    if per_frame:
        mean, std = mean[:, None, None], std[:, None, None]
    flat = std < 1e-6
    corrected = torch.where(flat, target_mean.expand_as(lab),
                            (lab - mean) * (target_std / std.clamp_min(1e-6)) + target_mean)
    out = lab_to_rgb(corrected)
    return (1 - strength) * frames.float() + strength * out


class ColourAnchor:
    """Holds the anchor statistics and corrects each window's decoded frames.

    ``mode``: ``"portrait"`` (per frame to the portrait, the reference), ``"first_window"``
    (each later window's overall statistics to the first window's), ``"off"``.
    """

    MODES = ("portrait", "first_window", "off")

    def __init__(self, mode: str = "portrait", strength: float = 1.0, portrait: torch.Tensor | None = None) -> None:
        if mode not in self.MODES:
            raise ValueError(f"colour anchor must be one of {', '.join(self.MODES)}, got {mode!r}")
        self.mode, self.strength = mode, float(strength)
        self._target: tuple[torch.Tensor, torch.Tensor] | None = None
        if mode == "portrait":
            if portrait is None:
                raise ValueError("portrait colour anchoring needs the portrait")
            self._target = lab_stats(rgb_to_lab(portrait.float()), (0, 1))

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        """Correct one window's frames (n, H, W, 3) in [0, 1]."""
        if self.mode == "off" or self.strength <= 0:
            return frames
        if self.mode == "portrait":
            return match_frames(frames, *self._target, strength=self.strength, per_frame=True)
        if self._target is None:  # the first window sets the anchor and stays as it is
            self._target = lab_stats(rgb_to_lab(frames), (0, 1, 2))
            return frames
        return match_frames(frames, *self._target, strength=self.strength, per_frame=False)
