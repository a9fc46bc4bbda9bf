"""The mesh lip rig: moves the photograph's own lips and jaw, in the face's own frame.

Nothing is painted on top of the face except the inside of the mouth where the lips
part. The rig works in face coordinates taken from the mesh: ``u`` across the mouth
(-1 at the picture-left corner, +1 at the right one, each side scaled by its own
half-width so a turned face keeps its foreshortening) and ``v`` down the face in mouth
half-widths, so roll and yaw come for free. The lips split along the photo's lower inner
lip line: everything above it (upper lip, and any teeth the photo shows) lifts a little
with the upper lip; everything below (lower lip, chin) drops with the jaw along a
lens-shaped profile that is zero at the corners, so the corners stay joined. Corners
spread for wide shapes and draw in for rounded ones; ``press`` closes any gap the photo
shows and thins the lips together (M, B, P); ``tuck`` lifts the lower lip under the
upper teeth (F, V). The displacement
fades to nothing at the cheeks, under the chin and at the nose, is solved backwards by
fixed-point iteration on a coarse grid and applied with one remap of a small region.
The gap that opens is the mouth's cavity, shaded from the darkest colours of the
photo's own lip line, with a soft edge.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from engine.backends.sketch import landmarks as lm
from engine.backends.sketch.landmarks import face_frame

_SIDE_FADE = (1.55, 2.45)  # |u| where the displacement starts and finishes fading out
_QUANT = 40  # control steps per unit: a step moves the lips about half a pixel at 720p
_KEEP = 48  # solved poses kept per rig (about 0.5 MB each at 720p)


def _smoothstep(edge0: float | np.ndarray, edge1: float | np.ndarray, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / np.maximum(1e-6, edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


@dataclass(frozen=True)
class LipShape:
    """The rig's amounts for one frame, in mouth half-widths."""

    drop: float  # lower lip and jaw move down
    lift: float  # upper lip moves up
    corners: float  # corners move out (+) or in (-), a fraction of the half-width
    exponent: float  # lens profile: lower is rounder
    press: float  # lips squeezed thinner together
    tuck: float  # lower lip lifted under the upper teeth


def lip_shape(mouth_open: float, width: float, press: float = 0.0, tuck: float = 0.0) -> LipShape:
    """Map the MouthTrack controls to rig amounts."""
    o = float(np.clip(mouth_open, 0.0, 1.0))
    w = float(np.clip(width, -1.0, 1.0))
    p = float(np.clip(press, 0.0, 1.0))
    t = float(np.clip(tuck, 0.0, 1.0))
    o *= (1.0 - p) * (1.0 - 0.7 * t)
    drop = 0.55 * o * (1.0 - 0.25 * max(0.0, w)) + 0.15 * o * max(0.0, -w)
    lift = (0.1 + 0.05 * max(0.0, w) + 0.06 * max(0.0, -w)) * o
    corners = 0.13 * w if w > 0 else 0.3 * w
    exponent = 0.75 + 0.25 * w if w > 0 else 0.75 + 0.35 * w
    return LipShape(drop=drop, lift=lift, corners=corners, exponent=exponent, press=p, tuck=t)


class LipRig:
    """Precomputed geometry for one face in one frame size; :meth:`apply` warps in place."""

    def __init__(self, stage: np.ndarray, points: np.ndarray, quality: str = "final") -> None:
        H, W = stage.shape[:2]
        xy = np.asarray(points, np.float64)[:, :2]
        frame = face_frame(points)
        self.ex, self.ey = frame.ex, frame.ey
        left, right = xy[lm.MOUTH_CORNERS[0]], xy[lm.MOUTH_CORNERS[1]]
        self.origin = (left + right) / 2
        f = frame.to_face(xy, self.origin)
        self.a_left = max(2.0, -float(f[lm.MOUTH_CORNERS[0], 0]))
        self.a_right = max(2.0, float(f[lm.MOUTH_CORNERS[1], 0]))
        self.a = a = (self.a_left + self.a_right) / 2
        uv = np.stack([np.where(f[:, 0] < 0, f[:, 0] / self.a_left, f[:, 0] / self.a_right), f[:, 1] / a], axis=1)
        self._curves = {name: self._curve(uv, idx) for name, idx in
                        (("split", lm.LOWER_INNER), ("upper_inner", lm.UPPER_INNER),
                         ("top", lm.UPPER_OUTER), ("bottom", lm.LOWER_OUTER))}
        self.v_nose = float(min(uv[lm.NOSE_BASE, 1], self._curves["top"][1].min() - 0.25))
        self.v_chin = float(max(uv[lm.CHIN, 1], self._curves["bottom"][1].max() + 0.4))
        self.iterations = 3
        # The region: the face-frame rectangle the displacement lives in, as picture pixels.
        u_lo, u_hi = -_SIDE_FADE[1] * self.a_left, _SIDE_FADE[1] * self.a_right
        v_lo, v_hi = (self.v_nose - 0.1) * a, self._chin_fade_end() * a
        corners = np.array([self.origin + x * self.ex + y * self.ey for x in (u_lo, u_hi) for y in (v_lo, v_hi)])
        self.x0, self.y0 = (int(max(0, np.floor(v))) for v in corners.min(axis=0))
        self.x1 = int(min(W, np.ceil(corners[:, 0].max())))
        self.y1 = int(min(H, np.ceil(corners[:, 1].max())))
        self.valid = self.x1 - self.x0 >= 8 and self.y1 - self.y0 >= 8 and a >= 3.0
        w, h = self.x1 - self.x0, self.y1 - self.y0
        self._size = (w, h)
        self.step = step = max(1, int(a // 7))
        gw, gh = -(-w // step) + 2, -(-h // step) + 2
        cols = (np.arange(gw, dtype=np.float64) - 0.5) * step - 0.5
        rows = (np.arange(gh, dtype=np.float64) - 0.5) * step - 0.5
        self._gx, self._gy = np.meshgrid(cols, rows)
        U, V = self._to_uv(self._gx + self.x0 + 0.5, self._gy + self.y0 + 0.5)
        self.U, self.V = U.astype(np.float32), V.astype(np.float32)
        # Face coordinates of every region pixel, for the per-pixel solve around the opening.
        FX, FY = np.meshgrid(np.arange(w, dtype=np.float64) + self.x0 + 0.5, np.arange(h, dtype=np.float64) + self.y0 + 0.5)
        fine_u, fine_v = self._to_uv(FX, FY)
        self._fine_u, self._fine_v = fine_u.astype(np.float32), fine_v.astype(np.float32)
        self.colours = self._cavity_colours(stage, xy)
        self._solved: OrderedDict[tuple[int, ...], Any] = OrderedDict()

    # --- geometry -------------------------------------------------------------------------

    @staticmethod
    def _curve(uv: np.ndarray, indices: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        pts = uv[list(indices)]
        order = np.argsort(pts[:, 0])
        return pts[order, 0], pts[order, 1]

    def _at(self, name: str, u: np.ndarray) -> np.ndarray:
        us, vs = self._curves[name]
        return np.interp(u, us, vs)

    def _chin_fade_end(self) -> float:
        return self.v_chin + 0.8 * max(0.5, self.v_chin - float(self._curves["split"][1].mean()))

    def _to_uv(self, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dx, dy = X - self.origin[0], Y - self.origin[1]
        fx = dx * self.ex[0] + dy * self.ex[1]
        fy = dx * self.ey[0] + dy * self.ey[1]
        return np.where(fx < 0, fx / self.a_left, fx / self.a_right), fy / self.a

    def _to_xy(self, U: np.ndarray, V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        fx = np.where(U < 0, U * self.a_left, U * self.a_right)
        fy = V * self.a
        return (self.origin[0] + fx * self.ex[0] + fy * self.ey[0], self.origin[1] + fx * self.ex[1] + fy * self.ey[1])

    def _cavity_colours(self, stage: np.ndarray, xy: np.ndarray) -> np.ndarray:
        """Dark, mid and deep colours for the cavity, from the photo's own lip line."""
        H, W = stage.shape[:2]
        line = np.concatenate([xy[list(lm.LOWER_INNER[2:9])], xy[list(lm.UPPER_INNER[2:9])]])
        mids = (xy[list(lm.LOWER_INNER[2:9])] + xy[list(lm.UPPER_INNER[2:9])]) / 2
        samples = []
        for x, y in np.concatenate([line, mids]):
            xi, yi = int(np.clip(round(x), 0, W - 1)), int(np.clip(round(y), 0, H - 1))
            samples.append(stage[max(0, yi - 1): yi + 2, max(0, xi - 1): xi + 2].reshape(-1, 3))
        px = np.concatenate(samples).astype(np.float32)
        luma = px @ np.array([0.299, 0.587, 0.114], np.float32)
        dark = px[luma <= np.percentile(luma, 20)].mean(axis=0)
        lip = np.median(px, axis=0)
        # Teeth in the lip line make the "dark" sample grey: keep the lips' hue in the shadow.
        hue = lip / max(1.0, float(lip.max()))
        shadow = float(dark @ np.array([0.299, 0.587, 0.114], np.float32))
        dark = 0.5 * dark + 0.5 * hue * min(shadow, 120.0)
        return np.stack([dark * 0.5, dark * 0.25, 0.45 * dark + 0.2 * lip]).astype(np.float32)

    @property
    def region(self) -> tuple[int, int, int, int]:
        return self.x0, self.y0, self.x1, self.y1

    # --- the field ------------------------------------------------------------------------

    def _horizontal(self, U: np.ndarray, V: np.ndarray, shape: LipShape) -> np.ndarray:
        """Source u for output u (corners out or in), by fixed-point iteration."""
        us = U
        if shape.corners == 0.0:
            return us
        vert = np.exp(-(((V - self._at("split", np.clip(U, -1, 1))) / 1.1) ** 2))
        side = 1.0 - _smoothstep(_SIDE_FADE[0], _SIDE_FADE[1], np.abs(U))
        for _ in range(3):
            us = U - shape.corners * us * np.exp(-((us / 1.2) ** 2)) * vert * side
        return us

    def _vertical(self, us: np.ndarray, V: np.ndarray, shape: LipShape) -> tuple[np.ndarray, np.ndarray]:
        """Source v for output v, and the gap mask (output points inside the opened mouth)."""
        lens = np.clip(1.0 - us * us, 0.0, 1.0) ** shape.exponent
        jaw = np.exp(-((us / 1.8) ** 2))
        side = 1.0 - _smoothstep(_SIDE_FADE[0], _SIDE_FADE[1], np.abs(us))
        split = self._at("split", us)
        top, bottom, upper_inner = self._at("top", us), self._at("bottom", us), self._at("upper_inner", us)
        low_t = np.maximum(0.05, bottom - split)  # lower lip thickness
        up_t = np.maximum(0.05, upper_inner - top)  # upper lip thickness
        rest_gap = np.clip(split - upper_inner, 0.0, 1.2 * up_t)  # lips apart in the photo (teeth)
        chin_end = self._chin_fade_end()
        gap_top = split - shape.lift * lens * side
        gap_bottom = split + shape.drop * lens * side
        upper = V <= gap_top
        vs = V
        for _ in range(self.iterations):
            below = vs - split
            q = _smoothstep(0.0, 1.5 * low_t, below)
            tail = 1.0 - _smoothstep(self.v_chin, chin_end, vs)
            lower_lip = 1.0 - _smoothstep(low_t, 1.8 * low_t, below)
            d_low = shape.drop * (lens * (1.0 - q) + jaw * q) * tail
            d_low = d_low - (0.35 * shape.tuck + 0.2 * shape.press) * low_t * lower_lip * np.clip(below / low_t, 0, 1)
            above = split - vs
            reach = np.maximum(0.2, split - self.v_nose)
            fade = 1.0 - _smoothstep(0.35 * reach, reach, above)
            upper_lip = 1.0 - _smoothstep(up_t, 1.8 * up_t, above)
            d_up = -shape.lift * lens * fade + 0.15 * shape.press * up_t * upper_lip * np.clip(above / up_t, 0, 1)
            if shape.press > 0.0:
                # Pressed lips meet: the upper lip slides down over any teeth the photo shows.
                over = 1.0 - _smoothstep(0.0, 1.5 * up_t, upper_inner - vs)
                d_up = d_up + shape.press * rest_gap * over
            vs = V - np.where(upper, d_up, d_low) * side
        gap = ~upper & (V < gap_bottom)
        return vs, gap

    def apply(self, frame: np.ndarray, mouth_open: float, width: float, press: float = 0.0,
              tuck: float = 0.0) -> None:
        """Warp ``frame`` (H×W×3 uint8, stage-sized) in place for these controls.

        Controls are quantised to 1/40 of their range (about half a pixel of lip motion)
        and the solved warp of each recent pose is kept, so held and repeated mouth
        shapes cost one remap.
        """
        if not self.valid:
            return
        key = tuple(int(round(float(np.clip(v, lo, 1.0)) * _QUANT)) for v, lo in
                    ((mouth_open, 0.0), (width, -1.0), (press, 0.0), (tuck, 0.0)))
        solved = self._solved.get(key)
        if solved is None:
            shape = lip_shape(*(k / _QUANT for k in key))
            if shape.drop < 0.004 and abs(shape.corners) < 0.003 and shape.press < 0.01 and shape.tuck < 0.01:
                solved = ()
            else:
                solved = self._solve(shape)
            self._solved[key] = solved
            if len(self._solved) > _KEEP:
                self._solved.popitem(last=False)
        else:
            self._solved.move_to_end(key)
        if not solved:
            return
        map_x, map_y, paint = solved
        roi = frame[self.y0: self.y1, self.x0: self.x1]
        warped = cv2.remap(roi, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if paint is not None:
            (xa, xb, ya, yb), a3, colour = paint
            patch = warped[ya:yb, xa:xb].astype(np.float32)
            warped[ya:yb, xa:xb] = np.clip(patch * (1.0 - a3) + colour, 0, 255).astype(np.uint8)
        roi[...] = warped

    def _solve(self, shape: LipShape) -> tuple[np.ndarray, np.ndarray, Any]:
        """The backward maps of one pose and its cavity (box, alpha, premultiplied colour)."""
        us = self._horizontal(self.U, self.V, shape)
        vs, _ = self._vertical(us, self.V, shape)
        sx, sy = self._to_xy(us, vs)
        w, h = self._size
        f = self.step
        map_x = (sx - self.x0 - 0.5).astype(np.float32)
        map_y = (sy - self.y0 - 0.5).astype(np.float32)
        if f > 1:
            big = (map_x.shape[1] * f, map_x.shape[0] * f)
            map_x = cv2.resize(map_x, big, interpolation=cv2.INTER_LINEAR)
            map_y = cv2.resize(map_y, big, interpolation=cv2.INTER_LINEAR)
        map_x, map_y = np.ascontiguousarray(map_x[f: f + h, f: f + w]), np.ascontiguousarray(map_y[f: f + h, f: f + w])
        box = self._gap_box(shape, pad=f + 2) if shape.drop + shape.lift > 0.015 else None
        if box is None:
            return map_x, map_y, None
        # Around the opening the field jumps from the upper to the lower lip: solve it
        # per pixel there, so no coarse cell mixes the two sides.
        xa, xb, ya, yb = box
        U, V = self._fine_u[ya:yb, xa:xb], self._fine_v[ya:yb, xa:xb]
        us_fine = self._horizontal(U, V, shape)
        vs_fine, _ = self._vertical(us_fine, V, shape)
        px, py = self._to_xy(us_fine, vs_fine)
        map_x[ya:yb, xa:xb] = px - self.x0 - 0.5
        map_y[ya:yb, xa:xb] = py - self.y0 - 0.5
        return map_x, map_y, self._cavity(shape, box, V, us_fine)

    def _gap_box(self, shape: LipShape, pad: int = 2) -> tuple[int, int, int, int] | None:
        """The opened gap's bounding box in region pixels (xa, xb, ya, yb), or None if empty."""
        u = np.linspace(-1.0 - max(0.0, shape.corners), 1.0 + max(0.0, shape.corners), 33)
        lens = np.clip(1.0 - u * u, 0.0, 1.0) ** shape.exponent
        split = self._at("split", np.clip(u, -1, 1))
        xs, ys = self._to_xy(np.concatenate([u, u]), np.concatenate([split - shape.lift * lens, split + shape.drop * lens]))
        xa = int(max(0, np.floor(xs.min()) - pad - self.x0))
        xb = int(min(self._size[0], np.ceil(xs.max()) + pad + 1 - self.x0))
        ya = int(max(0, np.floor(ys.min()) - pad - self.y0))
        yb = int(min(self._size[1], np.ceil(ys.max()) + pad + 1 - self.y0))
        if xb - xa < 2 or yb - ya < 2:
            return None
        return xa, xb, ya, yb

    def _cavity(self, shape: LipShape, box: tuple[int, int, int, int], V: np.ndarray,
                us: np.ndarray) -> tuple[tuple[int, int, int, int], np.ndarray, np.ndarray] | None:
        """The opened gap's soft alpha and shading from the portrait's own dark lip colours.

        ``box`` is the region-pixel box the fine field was solved on, ``V``/``us`` its
        output v and source u per pixel. Returns the box, alpha (h, w, 1) and the colour
        already multiplied by alpha, or None when nothing opens.
        """
        lens = np.clip(1.0 - us * us, 0.0, 1.0) ** shape.exponent
        side = 1.0 - _smoothstep(_SIDE_FADE[0], _SIDE_FADE[1], np.abs(us))
        split = self._at("split", us)
        top, bottom = split - shape.lift * lens * side, split + shape.drop * lens * side
        soft = max(1.2, self.a / 20.0)  # edge softness in pixels
        edge = np.minimum(V - top, bottom - V) * self.a
        alpha = np.clip(edge / soft + 0.3, 0.0, 1.0) * (lens > 0)
        if not alpha.any():
            return None
        depth = np.clip((V - top) / np.maximum(bottom - top, 1e-3), 0.0, 1.0)
        dark, deep, low = self.colours
        # Deepest under the upper lip, a little light from the lower lip and tongue below.
        t_low = _smoothstep(0.55, 1.0, depth)[..., None]
        t_deep = (1.0 - _smoothstep(0.0, 0.5, depth))[..., None] * 0.6 + (1.0 - lens[..., None]) * 0.4
        colour = dark[None, None] * (1.0 - t_deep) + deep[None, None] * t_deep
        colour = colour * (1.0 - t_low) + low[None, None] * t_low
        a3 = alpha[..., None].astype(np.float32)
        return box, a3, (colour * a3).astype(np.float32)


__all__ = ["LipRig", "LipShape", "lip_shape"]
