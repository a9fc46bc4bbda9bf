"""Haar-cascade face, eye and mouth guesses: the last fallback when MediaPipe is missing.

OpenCV's bundled frontal-face cascades (``default``, then ``alt2`` as a second opinion)
and the eye cascade ship inside the opencv wheel and run offline in milliseconds.
OpenCV bundles no mouth cascade and its smile cascade fires on any dark horizontal
edge, so the mouth is placed from face geometry and refined on the darkest horizontal
band (the lip seam) in the lower face.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from engine.backends.base import BackendError
from engine.backends.sketch.box import Box

# Detection runs on an image whose longer side is at most this (faster, same boxes).
_DETECT_SIDE = 640


@functools.lru_cache(maxsize=8)
def _cascade(name: str) -> cv2.CascadeClassifier:
    path = cv2.data.haarcascades + f"haarcascade_{name}.xml"
    classifier = cv2.CascadeClassifier(path)
    if classifier.empty():  # pragma: no cover - a broken OpenCV install
        raise BackendError(f"OpenCV's {name} cascade is missing at {path}", "reinstall opencv-python-headless")
    return classifier


def _gray(rgb: np.ndarray) -> np.ndarray:
    if rgb.ndim == 2:
        return rgb
    return cv2.cvtColor(np.ascontiguousarray(rgb[:, :, :3]), cv2.COLOR_RGB2GRAY)


def _resize_gray(gray: np.ndarray, scale: float) -> np.ndarray:
    if scale >= 1.0:
        return gray
    h, w = gray.shape
    return cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def _overlap(a: Box, b: Box) -> float:
    """Intersection over the smaller box: 1 when one box sits inside the other."""
    ix = max(0.0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0.0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    return ix * iy / max(1e-6, min(a.area, b.area))


def detect_faces(rgb: np.ndarray) -> list[Box]:
    """Frontal faces in ``rgb``, largest first; nested duplicates merged (for the bench tools)."""
    return sorted((box for box, _ in detect_faces_scored(rgb)), key=lambda b: -b.area)


def detect_faces_scored(rgb: np.ndarray) -> list[tuple[Box, float]]:
    """Frontal faces with their cascade confidence, surest first; nested duplicates merged."""
    gray = _gray(rgb)
    h, w = gray.shape
    scale = min(1.0, _DETECT_SIDE / max(h, w))
    small = cv2.equalizeHist(_resize_gray(gray, scale))
    min_side = max(24, int(min(small.shape) * 0.08))
    found: list[tuple[Box, float]] = []
    # Plain equalised image first; then local contrast (CLAHE) with a looser vote, which
    # finds dark skin under light hair and faces in flat light.
    clahe = cv2.createCLAHE(clipLimit=2.5, tileGridSize=(8, 8)).apply(_resize_gray(gray, scale))
    passes = [(small, 4, "frontalface_default"), (small, 4, "frontalface_alt2"),
              (clahe, 3, "frontalface_default"), (clahe, 3, "frontalface_alt2")]
    for k, (image, neighbours, name) in enumerate(passes):
        boxes, _, weights = _cascade(name).detectMultiScale3(
            image, scaleFactor=1.1, minNeighbors=neighbours, minSize=(min_side, min_side), outputRejectLevels=True
        )
        found = [(Box(*map(float, b)).scaled(1 / scale), float(np.ravel(wt)[0])) for b, wt in zip(boxes, weights)]
        if k > 0:
            # The second opinions fire on textures more often: a face must show two eyes.
            found = [(b, wt) for b, wt in found if detect_eyes(rgb, b)[1] == "detected"]
        if found:
            break
    # Weak hits (low cascade confidence) next to a strong face are texture, not faces.
    found.sort(key=lambda item: -item[1])
    floor = max(0.5, 0.25 * found[0][1]) if found else 0.0
    kept: list[tuple[Box, float]] = []
    for i, (box, weight) in enumerate(found):
        if i > 0 and weight < floor:
            continue
        if all(_overlap(box, k) < 0.5 for k, _ in kept):
            kept.append((box, weight))
    return kept


def detect_eyes(rgb: np.ndarray, face: Box) -> tuple[tuple[Box, ...], str]:
    """The two eyes inside ``face``: detected when the eye cascade agrees, else from geometry."""
    gray = _gray(rgb)
    H, W = gray.shape
    x0, y0 = max(0, int(face.x)), max(0, int(face.y + 0.1 * face.h))
    x1, y1 = min(W, int(face.x + face.w)), min(H, int(face.y + 0.6 * face.h))
    guess = (
        Box(face.x + 0.18 * face.w, face.y + 0.3 * face.h, 0.24 * face.w, 0.16 * face.h),
        Box(face.x + 0.58 * face.w, face.y + 0.3 * face.h, 0.24 * face.w, 0.16 * face.h),
    )
    if x1 - x0 < 20 or y1 - y0 < 10:
        return guess, "estimated"
    roi = cv2.equalizeHist(gray[y0:y1, x0:x1])
    min_side = max(6, int(face.w * 0.1))
    hits = _cascade("eye").detectMultiScale(roi, 1.1, 3, minSize=(min_side, min_side), maxSize=(int(face.w * 0.4),) * 2)
    cands = [Box(float(x + x0), float(y + y0), float(w), float(h)) for x, y, w, h in hits]
    left = [c for c in cands if c.cx < face.cx - 0.05 * face.w]
    right = [c for c in cands if c.cx > face.cx + 0.05 * face.w]
    best: tuple[Box, Box] | None = None
    best_cost = np.inf
    for a in left:
        for b in right:
            cost = abs(a.cy - b.cy) / face.h + abs(a.w - b.w) / face.w
            cost += abs((a.cx + b.cx) / 2 - face.cx) / face.w
            if cost < best_cost and abs(a.cy - b.cy) < 0.12 * face.h:
                best, best_cost = (a, b), cost
    if best is None:
        return guess, "estimated"
    return best, "detected"


def estimate_mouth(rgb: np.ndarray, face: Box, eyes: tuple[Box, ...] = ()) -> Box:
    """The mouth box from face geometry, refined on the lip seam (darkest band in the lower face)."""
    gray = _gray(rgb).astype(np.float32)
    H, W = gray.shape
    cx = face.cx
    if len(eyes) == 2:
        cx = (eyes[0].cx + eyes[1].cx) / 2
    mw, mh = 0.42 * face.w, 0.2 * face.h
    cy = face.y + 0.8 * face.h
    # Search rows between the nose and the chin in a strip as wide as the lips.
    xa, xb = int(max(0, cx - 0.15 * face.w)), int(min(W, cx + 0.15 * face.w))
    ya, yb = int(max(0, face.y + 0.66 * face.h)), int(min(H, face.y + 0.94 * face.h))
    if xb - xa >= 4 and yb - ya >= 6:
        profile = gray[ya:yb, xa:xb].mean(axis=1)
        k = max(1, (yb - ya) // 24)
        profile = np.convolve(profile, np.ones(2 * k + 1) / (2 * k + 1), mode="same")
        edge = max(1, k)
        inner = profile[edge:-edge] if len(profile) > 2 * edge else profile
        row = int(np.argmin(inner)) + (edge if len(profile) > 2 * edge else 0)
        contrast = float(np.median(profile) - profile[row])
        if contrast > 4.0:
            cy = ya + row
    return Box(cx - mw / 2, cy - mh / 2, mw, mh)


__all__ = ["detect_eyes", "detect_faces", "detect_faces_scored", "estimate_mouth"]
