"""The mesh eyelid rig: a blink slides each upper lid down over its eye; brows stay put.

Per eye, in the eye's own frame (along the line between its corners): the photo's upper
lid line moves down towards the lower lid by the closure times the lid gap at that point
(a lens-shaped amount, zero at the corners). The skin between the lid fold and the lid
line stretches to follow, the eyeball below is covered as the lid arrives, and nothing
above the fold moves, so the eyebrows never drop. The map is solved backwards by exact
inversion at full resolution on the eye's small region.
"""

from __future__ import annotations

import cv2
import numpy as np

from engine.backends.sketch import landmarks as lm


def _smoothstep(edge0: np.ndarray | float, edge1: np.ndarray | float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / np.maximum(1e-6, edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


class LidRig:
    """One eye's blink warp; :meth:`apply` closes it in place by ``closure`` (0 open .. 1 shut)."""

    def __init__(self, image_shape: tuple[int, ...], points: np.ndarray, eye: dict[str, tuple[int, ...]],
                 brow: tuple[int, ...]) -> None:
        H, W = image_shape[:2]
        xy = np.asarray(points, np.float64)[:, :2]
        outer, inner = xy[eye["corners"][0]], xy[eye["corners"][1]]
        if outer[0] > inner[0]:
            outer, inner = inner, outer
        across = inner - outer
        self.half = half = max(1.0, float(np.hypot(*across)) / 2)
        self.ex = across / (2 * half)
        self.ey = np.array([-self.ex[1], self.ex[0]])
        self.origin = (outer + inner) / 2
        uv = self._uv_of(xy)
        self._upper = self._curve(uv, eye["upper"])
        self._lower = self._curve(uv, eye["lower"])
        brow_low = self._curve(uv, brow[5:])  # the brow's lower edge
        self.gap = float(np.max(self._lower[1] - np.interp(self._lower[0], *self._upper)))
        # The fold follows the lid, most of the way up to the brow's lower edge: the lid
        # skin stretches evenly over the socket and the brow itself stays put.
        us = np.linspace(-1.3, 1.3, 27)
        up = np.interp(us, *self._upper)
        fold = up - 0.7 * np.maximum(0.1, up - np.interp(us, *brow_low))
        self._fold = (us, fold)
        box_u = 1.25
        v_top, v_bottom = float(fold.min()) - 0.05, float(self._lower[1].max()) + 0.1
        corners = np.array([self.origin + half * (u * self.ex + v * self.ey) for u in (-box_u, box_u)
                            for v in (v_top, v_bottom)])
        self.x0, self.y0 = (int(max(0, np.floor(c))) for c in corners.min(axis=0))
        self.x1, self.y1 = int(min(W, np.ceil(corners[:, 0].max()))), int(min(H, np.ceil(corners[:, 1].max())))
        self.valid = self.x1 - self.x0 >= 4 and self.y1 - self.y0 >= 3 and self.gap * half >= 1.0
        X, Y = np.meshgrid(np.arange(self.x0, self.x1, dtype=np.float64) + 0.5,
                           np.arange(self.y0, self.y1, dtype=np.float64) + 0.5)
        uv_grid = self._uv_of(np.stack([X, Y], axis=-1))
        self.U, self.V = uv_grid[..., 0], uv_grid[..., 1]
        self._gx, self._gy = X - self.x0 - 0.5, Y - self.y0 - 0.5
        self.v_up = np.interp(self.U, *self._upper)
        self.v_lo = np.interp(self.U, *self._lower)
        self.v_fold = np.interp(self.U, *self._fold)
        self.side = 1.0 - _smoothstep(1.0, box_u, np.abs(self.U))

    def _uv_of(self, pts: np.ndarray) -> np.ndarray:
        d = np.asarray(pts, np.float64) - self.origin
        return np.stack([d @ self.ex, d @ self.ey], axis=-1) / self.half

    @staticmethod
    def _curve(uv: np.ndarray, indices: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        pts = uv[list(indices)]
        order = np.argsort(pts[:, 0])
        return pts[order, 0], pts[order, 1]

    @property
    def region(self) -> tuple[int, int, int, int]:
        return self.x0, self.y0, self.x1, self.y1

    def apply(self, frame: np.ndarray, closure: float) -> None:
        if not self.valid or closure < 0.02:
            return
        c = float(np.clip(closure, 0.0, 1.0))
        travel = c * 0.97 * np.maximum(0.0, self.v_lo - self.v_up) * self.side
        # The map is piecewise linear down each lid column, so it inverts exactly. The lid
        # margin (lashes and the skin just above) slides down rigidly by ``travel``; the
        # socket above it, from the fold, unfolds to make room; the eyeball between the
        # lid and the lower lid folds up under the arriving margin.
        V, fold, up, lo = self.V, self.v_fold, self.v_up, self.v_lo
        margin = up - 0.35 * (up - fold)
        new_margin, new_lid = margin + travel, up + travel
        socket = fold + (V - fold) * (margin - fold) / np.maximum(1e-6, new_margin - fold)
        lid = V - travel
        eyeball = up + (V - new_lid) * (lo - up) / np.maximum(1e-3, lo - new_lid)
        vs = np.where(V < fold, V, np.where(V < new_margin, socket, np.where(V < new_lid, lid,
                                                                                np.where(V < lo, eyeball, V))))
        dv = (vs - V) * self.half
        map_x = (self._gx + dv * self.ey[0]).astype(np.float32)
        map_y = (self._gy + dv * self.ey[1]).astype(np.float32)
        roi = frame[self.y0: self.y1, self.x0: self.x1]
        warped = cv2.remap(roi, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        # The lid that now covers the eye sits in its own shadow: a touch darker.
        covered = np.clip((self.V - self.v_up) / np.maximum(1e-6, travel), 0.0, 1.0) * (self.V < self.v_up + travel)
        shade = (1.0 - 0.12 * c * covered * self.side)[..., None]
        roi[...] = np.clip(warped * shade, 0, 255).astype(np.uint8)


def lid_rigs(image_shape: tuple[int, ...], points: np.ndarray) -> list[LidRig]:
    """Both eyes' rigs for a mesh (skipping an eye too small or shut in the photo)."""
    rigs = [LidRig(image_shape, points, lm.RIGHT_EYE, lm.RIGHT_BROW), LidRig(image_shape, points, lm.LEFT_EYE,
                                                                              lm.LEFT_BROW)]
    return [r for r in rigs if r.valid]


__all__ = ["LidRig", "lid_rigs"]
