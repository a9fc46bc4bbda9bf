"""Framing presets: which part of the portrait fills the shot, and the still "stage" image.

``portrait`` frames the head, ``upper_body`` head and shoulders, ``full_body`` the whole
picture. The crop keeps the output's aspect ratio, stays inside the picture and is
resampled once into the stage, the still frame every animated frame starts from.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engine.backends.sketch.box import Box
from engine.backends.sketch.face import FaceAnalysis

# How many face-box heights the frame is tall, and how far below the face centre it is centred.
_PRESETS = {"portrait": (2.7, 0.25), "upper_body": (4.2, 0.9)}


@dataclass(frozen=True)
class Crop:
    """A rectangle of the portrait (pixels) that becomes the whole frame."""

    x: float
    y: float
    w: float
    h: float

    def to_stage(self, box: Box, out_w: int, out_h: int) -> Box:
        sx, sy = out_w / self.w, out_h / self.h
        return Box((box.x - self.x) * sx, (box.y - self.y) * sy, box.w * sx, box.h * sy)

    def points_to_stage(self, points: np.ndarray, out_w: int, out_h: int) -> np.ndarray:
        """Mesh points (N, 3) into stage pixels (z scaled like x)."""
        sx, sy = out_w / self.w, out_h / self.h
        out = np.array(points, np.float32, copy=True)
        out[:, 0] = (out[:, 0] - self.x) * sx
        out[:, 1] = (out[:, 1] - self.y) * sy
        out[:, 2] *= sx
        return out


def choose_crop(analysis: FaceAnalysis, out_w: int, out_h: int, framing: str) -> Crop:
    """The crop for ``framing``; falls back to the whole picture (cover) when it cannot frame."""
    W, H = analysis.width, analysis.height
    aspect = out_w / out_h
    # Largest crop of the output's aspect that fits inside the picture.
    max_h = min(float(H), W / aspect)
    anchor = analysis.face or analysis.mouth
    if framing in _PRESETS and anchor is not None:
        tall, drop = _PRESETS[framing]
        ref_h = analysis.face.h if analysis.face is not None else analysis.mouth.w * 2.4  # type: ignore[union-attr]
        h = min(max_h, tall * ref_h)
        cx, cy = anchor.cx, anchor.cy + drop * ref_h
    else:
        h = max_h
        cx, cy = W / 2, H / 2
    w = h * aspect
    x, y = cx - w / 2, cy - h / 2
    if analysis.face is not None:
        # Whatever the preset, the face from brow to chin stays in the frame when it can.
        f = analysis.face
        x = _keep_inside(x, w, f.x - 0.1 * f.w, f.x + 1.1 * f.w)
        y = _keep_inside(y, h, f.y - 0.2 * f.h, f.y + 1.12 * f.h)
    x = float(np.clip(x, 0, W - w))
    y = float(np.clip(y, 0, H - h))
    return Crop(x, y, w, h)


def _keep_inside(start: float, length: float, lo: float, hi: float) -> float:
    """Move a window [start, start+length) so it covers [lo, hi]; centre on it when too small."""
    if hi - lo >= length:
        return (lo + hi) / 2 - length / 2
    return min(max(start, hi - length), lo)


def render_stage(rgb: np.ndarray, crop: Crop, out_w: int, out_h: int) -> np.ndarray:
    """Resample the crop of ``rgb`` to the output size (area filter down, cubic up)."""
    sx, sy = out_w / crop.w, out_h / crop.h
    m = np.array([[sx, 0, -crop.x * sx], [0, sy, -crop.y * sy]], np.float64)
    if sx < 1.0:
        # Downscale in two steps so fine detail is averaged rather than aliased.
        return cv2.resize(
            cv2.warpAffine(rgb, np.array([[1, 0, -crop.x], [0, 1, -crop.y]], np.float64),
                           (int(np.ceil(crop.w)), int(np.ceil(crop.h))), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE),
            (out_w, out_h), interpolation=cv2.INTER_AREA,
        )
    return cv2.warpAffine(rgb, m, (out_w, out_h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


def stage_analysis(analysis: FaceAnalysis, crop: Crop, out_w: int, out_h: int) -> FaceAnalysis:
    """``analysis`` with every box moved into stage pixels."""
    return FaceAnalysis(
        width=out_w,
        height=out_h,
        face=crop.to_stage(analysis.face, out_w, out_h) if analysis.face else None,
        mouth=crop.to_stage(analysis.mouth, out_w, out_h) if analysis.mouth else None,
        eyes=tuple(crop.to_stage(e, out_w, out_h) for e in analysis.eyes),
        faces_found=analysis.faces_found,
        mouth_source=analysis.mouth_source,
        eyes_source=analysis.eyes_source,
        warnings=list(analysis.warnings),
        faces=[(crop.to_stage(b, out_w, out_h), c) for b, c in analysis.faces],
        face_index=analysis.face_index,
        face_source=analysis.face_source,
        points=crop.points_to_stage(analysis.points, out_w, out_h) if analysis.points is not None else None,
        mask=_stage_mask(analysis.mask, crop, out_w, out_h),
    )


def _stage_mask(mask: np.ndarray | None, crop: Crop, out_w: int, out_h: int) -> np.ndarray | None:
    if mask is None:
        return None
    sx, sy = out_w / crop.w, out_h / crop.h
    m = np.array([[sx, 0, -crop.x * sx], [0, sy, -crop.y * sy]], np.float64)
    return cv2.warpAffine(mask, m, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


__all__ = ["Crop", "choose_crop", "render_stage", "stage_analysis"]
