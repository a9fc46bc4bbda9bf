"""The mouth rig: opens, rounds and widens the lips of a still portrait with one remap.

The lips are split at the seam. The upper lip is lifted a little, the lower lip and the
jaw are dropped along a lens-shaped profile (zero at the corners, so the corners stay
joined), and the corners are pushed out (wide) or in (round). Each displacement fades
smoothly to nothing at the edge of a small region around the mouth, so the warp leaves
no seam. The backward map is found by fixed-point iteration of the forward field; the
gap that opens between the lips is painted as a dark mouth with a hint of teeth and
tongue, anti-aliased at its edge. All grids are precomputed on the mouth region only.
"""

from __future__ import annotations

import cv2
import numpy as np

from engine.backends.sketch.box import Box

# Opening of the lens at open = 1, in lip half-widths (upper lip lift, jaw drop).
_LIFT, _DROP = 0.14, 0.6


def _smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def refine_seam(rgb: np.ndarray, mouth: Box) -> float:
    """The lip seam's row inside ``mouth``: the darkest band near the box centre."""
    H, W = rgb.shape[:2]
    xa, xb = int(max(0, mouth.cx - 0.25 * mouth.w)), int(min(W, mouth.cx + 0.25 * mouth.w))
    ya, yb = int(max(0, mouth.cy - 0.3 * mouth.h)), int(min(H, mouth.cy + 0.3 * mouth.h))
    if xb - xa < 3 or yb - ya < 3:
        return mouth.cy
    band = cv2.cvtColor(np.ascontiguousarray(rgb[ya:yb, xa:xb]), cv2.COLOR_RGB2GRAY).astype(np.float32).mean(axis=1)
    if band.max() - band.min() < 6.0:
        return mouth.cy
    return float(ya + int(np.argmin(band)) + 0.5)


class MouthRig:
    """Precomputed grids for one mouth in one image size; :meth:`apply` warps a frame in place.

    The displacement is smooth, so it is solved on a coarse grid (about 24 cells per lip
    half-width, whatever the resolution) and upsampled; only the opening itself is
    shaded at full resolution, inside its own small bounding box.
    """

    def __init__(self, stage: np.ndarray, mouth: Box, quality: str = "final") -> None:
        H, W = stage.shape[:2]
        self.a = a = max(3.0, 0.4 * mouth.w)  # lip half-width in pixels
        self.cx = mouth.cx
        self.cy = refine_seam(stage, mouth)
        self.x0, self.x1 = int(max(0, np.floor(self.cx - 1.9 * a))), int(min(W, np.ceil(self.cx + 1.9 * a)))
        self.y0, self.y1 = int(max(0, np.floor(self.cy - 1.4 * a))), int(min(H, np.ceil(self.cy + 3.0 * a)))
        self.iterations = 5 if quality == "final" else 3
        self.valid = self.x1 - self.x0 >= 8 and self.y1 - self.y0 >= 8
        w, h = self.x1 - self.x0, self.y1 - self.y0
        self.step = f = max(1, int(a // 24))
        # Coarse grid with a spare cell on every side, so upsampling keeps the identity exact.
        gw, gh = -(-w // f) + 2, -(-h // f) + 2
        cols = (np.arange(gw, dtype=np.float32) - 0.5) * f - 0.5  # region pixel coordinates
        rows = (np.arange(gh, dtype=np.float32) - 0.5) * f - 0.5
        self._gx, self._gy = np.meshgrid(cols, rows)
        self.U = ((self._gx + self.x0 + 0.5 - self.cx) / a).astype(np.float32)
        self.V = ((self._gy + self.y0 + 0.5 - self.cy) / a).astype(np.float32)
        self.h_vert = np.exp(-((self.V / 1.1) ** 2))
        # Every displacement is faded to zero before the region's edge (1.9 half-widths
        # to the sides, 1.4 above, 3.0 below), so the warped patch meets the frame exactly.
        self.window = ((1.0 - _smoothstep(1.3, 1.85, np.abs(self.U))) * (1.0 - _smoothstep(0.95, 1.35, -self.V))
                       * (1.0 - _smoothstep(2.5, 2.95, self.V))).astype(np.float32)
        self._size = (w, h)
        # Colours for the inside of the mouth, sampled from the lips themselves.
        lips = stage[int(max(0, self.cy - 0.2 * a)) : int(min(H, self.cy + 0.25 * a) + 1),
                     int(max(0, self.cx - 0.5 * a)) : int(min(W, self.cx + 0.5 * a) + 1)]
        lip = np.median(lips.reshape(-1, 3), axis=0).astype(np.float32) if lips.size else np.array([150, 80, 80], np.float32)
        self.cavity = 0.18 * lip + np.array([14, 4, 6], np.float32)
        self.tongue = 0.55 * lip + np.array([40, 8, 10], np.float32)
        self.teeth = np.array([226, 220, 204], np.float32)

    @property
    def region(self) -> tuple[int, int, int, int]:
        return self.x0, self.y0, self.x1, self.y1

    def _shape(self, o: float, sw: float) -> tuple[float, float, float, float]:
        k = 0.14 * sw if sw > 0 else 0.24 * sw  # corners out (wide) or in (round)
        exponent = 0.75 + 0.25 * sw  # a rounder opening for "o", a flatter one for "i"
        lift = (_LIFT + 0.06 * max(0.0, -sw)) * o
        drop = _DROP * (1.0 - 0.25 * max(0.0, sw)) * o
        return k, exponent, lift, drop

    def apply(self, frame: np.ndarray, mouth_open: float, width: float) -> None:
        """Warp ``frame`` (the stage or a copy, H×W×3 uint8) in place for these controls."""
        if not self.valid or (mouth_open < 0.01 and abs(width) < 0.02):
            return
        o = float(np.clip(mouth_open, 0.0, 1.0))
        sw = float(np.clip(width, -1.0, 1.0))
        k, exponent, lift, drop = self._shape(o, sw)
        U, V = self.U, self.V

        # Horizontal: invert u' = u + k·u·exp(-(u/1.2)²)·vert(v).
        us = U
        if k != 0.0:
            for _ in range(3):
                us = U - k * us * np.exp(-((us / 1.2) ** 2)) * self.h_vert
        lens = np.clip(1.0 - us * us, 0.0, 1.0) ** exponent
        upper = V < 0.5 * (drop - lift) * lens

        # Vertical, upper lip: v' = v - lift·lens·fade(v).
        # Vertical, lower lip and jaw: v' = v + drop·(lens·(1-s) + jaw·s)·tail, s rising from the seam.
        jaw = np.exp(-((us / 1.5) ** 2))
        vs = V
        for _ in range(self.iterations):
            s = _smoothstep(0.0, 1.4, vs)
            tail = 1.0 - _smoothstep(1.5, 2.9, vs)
            lower_d = drop * (lens * (1.0 - s) + jaw * s) * tail
            upper_d = -lift * lens * (1.0 - _smoothstep(0.0, 1.1, -vs))
            vs = V - np.where(upper, upper_d, lower_d)
        w, h = self._size
        f = self.step
        map_x = (self._gx + (us - U) * (self.a * self.window)).astype(np.float32)
        map_y = (self._gy + (vs - V) * (self.a * self.window)).astype(np.float32)
        if f > 1:
            big = (map_x.shape[1] * f, map_x.shape[0] * f)
            map_x = cv2.resize(map_x, big, interpolation=cv2.INTER_LINEAR)
            map_y = cv2.resize(map_y, big, interpolation=cv2.INTER_LINEAR)
        map_x, map_y = map_x[f : f + h, f : f + w], map_y[f : f + h, f : f + w]
        roi = frame[self.y0 : self.y1, self.x0 : self.x1]
        warped = cv2.remap(roi, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if o > 0.02:
            self._paint_opening(warped, map_x, k, exponent, lift, drop)
        roi[...] = warped

    def _paint_opening(self, warped: np.ndarray, map_x: np.ndarray, k: float, exponent: float, lift: float,
                       drop: float) -> None:
        """Shade the gap between the lips (cavity, upper teeth, tongue) at full resolution."""
        a = self.a
        # Bounding box of the opening, in ROI pixels.
        xa = int(max(0, np.floor(self.cx - a * (1.0 + max(0.0, k)) - 2 - self.x0)))
        xb = int(min(self._size[0], np.ceil(self.cx + a * (1.0 + max(0.0, k)) + 2 - self.x0)))
        ya = int(max(0, np.floor(self.cy - a * lift - 2 - self.y0)))
        yb = int(min(self._size[1], np.ceil(self.cy + a * drop + 2 - self.y0)))
        if xb - xa < 2 or yb - ya < 2:
            return
        px = np.arange(xa, xb, dtype=np.float32)[None, :]
        Ub = (px + self.x0 + 0.5 - self.cx) / a
        Vb = (np.arange(ya, yb, dtype=np.float32)[:, None] + self.y0 + 0.5 - self.cy) / a
        us = Ub + (map_x[ya:yb, xa:xb] - px) / a
        lens = np.clip(1.0 - us * us, 0.0, 1.0) ** exponent
        top, bot = -lift * lens, drop * lens
        gap = bot - top
        edge = np.minimum(Vb - top, bot - Vb) * a
        alpha = np.clip(edge / 1.2 + 0.5, 0.0, 1.0) * (lens > 0)
        if not alpha.any():
            return
        depth = np.clip((Vb - top) / np.maximum(gap, 1e-3), 0.0, 1.0)
        inside = self.cavity[None, None, :] * (0.75 + 0.5 * np.abs(depth - 0.5))[..., None]
        max_gap = lift + drop
        open_frac = min(1.0, max_gap / 0.25)
        tooth_h = min(0.16, 0.45 * max_gap)
        centre = np.clip((0.72 - np.abs(us)) / 0.18, 0.0, 1.0)
        teeth_a = (np.clip(((top + tooth_h) - Vb) * a / 1.2 + 0.5, 0.0, 1.0) * centre)[..., None]
        shade = (0.62 + 0.38 * np.clip(1.0 - np.abs(us) / 0.72, 0.0, 1.0)) * (0.55 + 0.45 * open_frac)
        inside = inside * (1 - teeth_a) + teeth_a * self.teeth * shade[..., None]
        tongue_a = (0.8 * _smoothstep(0.62, 0.9, depth) * np.clip((0.55 - np.abs(us)) / 0.2, 0.0, 1.0) * open_frac)[..., None]
        inside = inside * (1 - tongue_a) + tongue_a * self.tongue
        a3 = alpha[..., None]
        box = warped[ya:yb, xa:xb]
        box[...] = (box.astype(np.float32) * (1.0 - a3) + inside * a3).astype(np.uint8)


__all__ = ["MouthRig", "refine_seam"]
