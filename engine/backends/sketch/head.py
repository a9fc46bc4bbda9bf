"""The head rig: small rotations and shifts of the head that fade out into the picture.

Rotating the whole frame would look like a wobbling camera; pasting a rotated head
would leave a doubled outline. Instead the motion is a displacement field: the full
rigid motion inside an ellipse around the head, fading smoothly to zero over the hair,
neck and background around it, and, when the person's segmentation mask is known,
fading to zero off the person too, so the backdrop behind the head does not bend. The field is linear in the motion parameters, so its
pieces are precomputed once on a coarse grid; each frame combines them, upsamples the
displacement and remaps only the rows' spans where it is not zero.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from engine.backends.sketch.box import Box

_COARSE = 8  # pixels per coarse-grid cell
_FALLOFF = 1.3  # the weight reaches zero at this many ellipse radii
_BAND = 16  # rows per remap band


class HeadRig:
    """Moves the head region of a frame in place (:meth:`apply`)."""

    def __init__(self, image_shape: tuple[int, ...], head: Box, face_width: float, interpolation: int,
                 mask: np.ndarray | None = None) -> None:
        H, W = image_shape[:2]
        self.rx, self.ry = 0.42 * head.w, 0.42 * head.h
        self.hx, self.hy = head.cx, head.cy
        self.x0 = int(max(0, np.floor(self.hx - _FALLOFF * self.rx)))
        self.x1 = int(min(W, np.ceil(self.hx + _FALLOFF * self.rx)))
        self.y0 = int(max(0, np.floor(self.hy - _FALLOFF * self.ry)))
        self.y1 = int(min(H, np.ceil(self.hy + _FALLOFF * self.ry)))
        self.valid = self.x1 - self.x0 >= 16 and self.y1 - self.y0 >= 16
        self.face_width = face_width
        self.interpolation = interpolation
        self.pivot = (head.cx, head.y + 0.92 * head.h)  # about the base of the skull / neck
        w, h = self.x1 - self.x0, self.y1 - self.y0
        self._size = (w, h)
        # Coarse grid with one spare cell on every side: linear upsampling then reproduces
        # the identity exactly over the region, so only the displacement is approximate.
        gw, gh = -(-w // _COARSE) + 2, -(-h // _COARSE) + 2
        cols = (np.arange(gw, dtype=np.float32) - 0.5) * _COARSE - 0.5  # region pixel coordinates
        rows = (np.arange(gh, dtype=np.float32) - 0.5) * _COARSE - 0.5
        GX, GY = np.meshgrid(cols, rows)
        X, Y = GX + self.x0 + 0.5, GY + self.y0 + 0.5
        weight = self._weight(X, Y)
        if mask is not None:
            weight = weight * self._person(mask, X, Y, face_width)
        self._gx, self._gy = GX, GY
        self._w = weight.astype(np.float32)
        self._wx = (weight * (X - self.pivot[0])).astype(np.float32)
        self._wy = (weight * (Y - self.pivot[1])).astype(np.float32)
        # Per band of rows, the columns the ellipse (plus its falloff and the upsampling blur) covers.
        self._bands: list[tuple[int, int, int, int]] = []
        pad = 2 * _COARSE
        for ya in range(0, h, _BAND):
            yb = min(h, ya + _BAND)
            ys = np.array([ya, yb - 1], np.float32) + self.y0 + 0.5
            dy = np.min(np.abs(ys - self.hy)) if not (ys[0] <= self.hy <= ys[1]) else 0.0
            reach = _FALLOFF * self.ry
            if dy >= reach + pad:
                continue
            half = _FALLOFF * self.rx * math.sqrt(max(0.0, 1.0 - min(1.0, dy / reach) ** 2))
            xa = int(max(0, np.floor(self.hx - half - pad - self.x0)))
            xb = int(min(w, np.ceil(self.hx + half + pad - self.x0)))
            if xb > xa:
                self._bands.append((ya, yb, xa, xb))

    @staticmethod
    def _person(mask: np.ndarray, X: np.ndarray, Y: np.ndarray, face_width: float) -> np.ndarray:
        """How much each grid point belongs to the person (soft), so the backdrop stays still."""
        k = int(max(3, face_width * 0.06)) | 1
        soft = cv2.GaussianBlur(np.asarray(mask, np.float32), (k, k), 0)
        xs = np.clip(X, 0, soft.shape[1] - 1).astype(np.float32)
        ys = np.clip(Y, 0, soft.shape[0] - 1).astype(np.float32)
        person = cv2.remap(soft, xs, ys, cv2.INTER_LINEAR)
        t = np.clip((person - 0.15) / 0.6, 0.0, 1.0)
        return t * t * (3.0 - 2.0 * t)

    def _weight(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        r = np.sqrt(((X - self.hx) / self.rx) ** 2 + ((Y - self.hy) / self.ry) ** 2)
        t = np.clip((_FALLOFF - r) / (_FALLOFF - 1.0), 0.0, 1.0)
        return t * t * (3.0 - 2.0 * t)

    @property
    def region(self) -> tuple[int, int, int, int]:
        return self.x0, self.y0, self.x1, self.y1

    def apply(self, frame: np.ndarray, roll_deg: float, shift_x: float, shift_y: float) -> None:
        """Move the head in ``frame`` in place: roll in degrees, shifts in face widths."""
        if not self.valid or (abs(roll_deg) < 1e-4 and abs(shift_x) < 1e-6 and abs(shift_y) < 1e-6):
            return
        theta = math.radians(roll_deg)
        c, s = math.cos(theta), math.sin(theta)
        tx, ty = shift_x * self.face_width, shift_y * self.face_width
        # Backward map of the forward motion p -> R(p - pivot) + pivot + t, weighted:
        # src = p + w·(R⁻¹(p - pivot - t) + pivot - p).
        dx = (c - 1.0) * self._wx + s * self._wy - self._w * (c * tx + s * ty)
        dy = -s * self._wx + (c - 1.0) * self._wy - self._w * (-s * tx + c * ty)
        w, h = self._size
        big = (self._gx.shape[1] * _COARSE, self._gx.shape[0] * _COARSE)
        map_x = cv2.resize(self._gx + dx, big, interpolation=cv2.INTER_LINEAR)[_COARSE : _COARSE + h, _COARSE : _COARSE + w]
        map_y = cv2.resize(self._gy + dy, big, interpolation=cv2.INTER_LINEAR)[_COARSE : _COARSE + h, _COARSE : _COARSE + w]
        roi = frame[self.y0 : self.y1, self.x0 : self.x1]
        src = roi.copy()
        for ya, yb, xa, xb in self._bands:
            roi[ya:yb, xa:xb] = cv2.remap(src, map_x[ya:yb, xa:xb], map_y[ya:yb, xa:xb], self.interpolation,
                                          borderMode=cv2.BORDER_REPLICATE)


__all__ = ["HeadRig"]
