"""The blink rig: pulls the upper lid down over the eye with a vertical remap.

Above the eye the lid skin is stretched downwards, from the crease (the brow stays
put) to the lower lid, by an almond profile that is zero at the eye corners; the upper lash line ends up
on the lower lid when the eye is closed. Only a small region around each eye is touched.
"""

from __future__ import annotations

import cv2
import numpy as np

from engine.backends.sketch.box import Box


class EyeRig:
    """One eye's precomputed grids; :meth:`apply` closes it by ``closure`` (0 open, 1 shut)."""

    def __init__(self, image_shape: tuple[int, ...], eye: Box) -> None:
        H, W = image_shape[:2]
        self.b = b = max(2.0, 0.36 * eye.w)  # half the width of the eye opening
        self.cx, self.cy = eye.cx, eye.cy + 0.06 * eye.h
        self.opening = 0.95 * b  # lid-to-lid height
        self.x0, self.x1 = int(max(0, np.floor(self.cx - 1.7 * b))), int(min(W, np.ceil(self.cx + 1.7 * b)))
        self.y0, self.y1 = int(max(0, np.floor(self.cy - 1.5 * b))), int(min(H, np.ceil(self.cy + 1.0 * b)))
        self.valid = self.x1 - self.x0 >= 6 and self.y1 - self.y0 >= 6
        ys, xs = np.mgrid[self.y0 : self.y1, self.x0 : self.x1].astype(np.float32)
        u = (xs + 0.5 - self.cx) / b
        self.profile = np.clip(1.0 - u * u, 0.0, 1.0) ** 0.7
        lid = self.cy + 0.42 * b * np.clip(1.0 - u * u, 0.0, 1.0)  # lower lid line
        top = self.cy - 1.2 * b  # the lid crease: above it (the brow) nothing moves
        t = np.clip((ys + 0.5 - top) / np.maximum(lid - top, 1.0), 0.0, None)
        ease = t * t * (3.0 - 2.0 * t)  # steepest slope 1.5 / span: the lid never folds over
        self.ramp = np.where(t <= 1.0, ease, 0.0).astype(np.float32)
        self.xs = (xs - self.x0).astype(np.float32)
        self.ys = (ys - self.y0).astype(np.float32)

    def apply(self, frame: np.ndarray, closure: float) -> None:
        if not self.valid or closure < 0.02:
            return
        c = float(np.clip(closure, 0.0, 1.0))
        shift = (c * self.opening) * self.profile * self.ramp
        map_y = self.ys - shift
        roi = frame[self.y0 : self.y1, self.x0 : self.x1]
        roi[...] = cv2.remap(roi, self.xs, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


__all__ = ["EyeRig"]
