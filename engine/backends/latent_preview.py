"""Cheap live previews of video latents without running the VAE.

A least-squares map from latent channels to RGB is fitted on the portrait and its own
latent (one tiny solve per job), so it works for any VAE, including tiny test ones.
"""

from __future__ import annotations

import numpy as np
import torch


class LatentPreview:
    """``fit`` on (portrait latent, portrait RGB), then ``image`` on any latent frame."""

    def __init__(self) -> None:
        self._map: torch.Tensor | None = None

    @property
    def ready(self) -> bool:
        return self._map is not None

    def fit(self, latent: torch.Tensor, rgb: np.ndarray) -> None:
        """``latent`` (1, C, ≥1, h, w) of the portrait ``rgb`` (H×W×3 uint8)."""
        import cv2

        c, h, w = latent.shape[1], latent.shape[3], latent.shape[4]
        small = cv2.resize(np.asarray(rgb, np.uint8), (w, h), interpolation=cv2.INTER_AREA)
        target = small.reshape(-1, 3).astype(np.float64) / 255.0
        feats = latent[0, :, 0].reshape(c, -1).T.double().cpu().numpy()
        design = np.concatenate([feats, np.ones((feats.shape[0], 1))], axis=1)
        ridge = 1e-3 * np.eye(design.shape[1])
        self._map = torch.from_numpy(np.linalg.solve(design.T @ design + ridge, design.T @ target)).float()

    def image(self, latents: torch.Tensor, frame: int | None = None, scale: int | None = None) -> np.ndarray:
        """An RGB preview (uint8) of one latent frame (the middle one by default)."""
        if self._map is None:
            raise RuntimeError("no preview projection yet: fit it on the portrait first")
        lat = latents[0, :, latents.shape[2] // 2 if frame is None else frame].float().cpu()
        c, h, w = lat.shape
        flat = torch.cat([lat.reshape(c, -1).T, torch.ones(h * w, 1)], dim=1)
        rgb = (flat @ self._map).clamp(0, 1).reshape(h, w, 3).mul(255).byte().numpy()
        scale = scale or max(1, 256 // max(h, w))
        return np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)
