"""Weight-free picture measurements: face descriptors, sharpness, exposure, flicker.

The identity fallback, used when no ArcFace-class model is supplied, compares faces by
the shape of their features rather than by learnt embeddings: the face box is cropped
with a margin, resized to 64×64 grey, contrast-equalised, and described by a histogram
of oriented gradients (9 bins on 8×8 cells, 16×16 blocks) joined with a zero-mean,
unit-norm 24×24 patch. Cosine similarity of two descriptors is near 1 for the same
painted or photographed face under small motion and clearly lower for another face. It
is a drift detector, not a face-recognition score: compare it within one take or one
portrait, not across unrelated shots.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

FACE_SIDE = 64
PATCH_SIDE = 24


@functools.lru_cache(maxsize=1)
def _hog() -> cv2.HOGDescriptor:
    return cv2.HOGDescriptor((FACE_SIDE, FACE_SIDE), (16, 16), (8, 8), (8, 8), 9)


def to_gray(rgb: np.ndarray) -> np.ndarray:
    if rgb.ndim == 2:
        return rgb
    return cv2.cvtColor(np.ascontiguousarray(rgb[:, :, :3]), cv2.COLOR_RGB2GRAY)


def face_crop(rgb: np.ndarray, box: tuple[float, float, float, float], margin: float = 0.1,
              side: int = FACE_SIDE) -> np.ndarray:
    """A square crop around ``box`` (x, y, w, h) with ``margin``, edge-padded, resized to ``side``."""
    x, y, w, h = box
    s = max(w, h) * (1 + 2 * margin)
    cx, cy = x + w / 2, y + h / 2
    m = np.array([[side / s, 0, side / 2 - cx * side / s], [0, side / s, side / 2 - cy * side / s]], np.float64)
    return cv2.warpAffine(rgb, m, (side, side), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)


def face_descriptor(rgb: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """The weight-free identity descriptor of the face in ``box`` (unit length)."""
    gray = to_gray(face_crop(rgb, box))
    gray = cv2.equalizeHist(gray)
    hog = _hog().compute(gray).reshape(-1).astype(np.float32)
    hog /= np.linalg.norm(hog) + 1e-9
    patch = cv2.resize(gray, (PATCH_SIDE, PATCH_SIDE), interpolation=cv2.INTER_AREA).astype(np.float32).reshape(-1)
    patch -= patch.mean()
    patch /= np.linalg.norm(patch) + 1e-9
    desc = np.concatenate([hog, patch])
    return desc / (np.linalg.norm(desc) + 1e-9)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, np.float64).reshape(-1)
    b = np.asarray(b, np.float64).reshape(-1)
    return float(a @ b / ((np.linalg.norm(a) * np.linalg.norm(b)) + 1e-12))


def sharpness(gray: np.ndarray, side: int = 256) -> float:
    """Variance of the Laplacian on the picture scaled to ``side`` px wide (resolution-fair)."""
    g = np.asarray(gray)
    if g.shape[1] != side:
        scale = side / g.shape[1]
        g = cv2.resize(g, (side, max(1, round(g.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(g, cv2.CV_64F).var())


def exposure(gray: np.ndarray) -> dict[str, float]:
    """Mean luminance (0..1) and the fractions of crushed blacks and clipped whites."""
    g = np.asarray(gray)
    n = max(1, g.size)
    return {
        "mean": float(g.mean() / 255.0),
        "crushed": float(np.count_nonzero(g <= 5) / n),
        "clipped": float(np.count_nonzero(g >= 250) / n),
    }


def flicker(prev_gray: np.ndarray, gray: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean absolute luminance change between two frames where ``mask`` is true (all if None)."""
    diff = np.abs(gray.astype(np.int16) - prev_gray.astype(np.int16))
    if mask is None:
        return float(diff.mean())
    sel = diff[mask]
    return float(sel.mean()) if sel.size else 0.0


__all__ = ["cosine", "exposure", "face_crop", "face_descriptor", "flicker", "sharpness", "to_gray"]


def register_face(portrait: np.ndarray, portrait_box: tuple[float, float, float, float], frame: np.ndarray,
                  hint: tuple[float, float, float, float] | None = None) -> tuple[tuple[float, float, float, float], float]:
    """Where the portrait's face sits in ``frame``: its box there, and the match score (NCC, -1..1).

    Cascade boxes on a reframed take (forehead cut by the crop, another scale) differ from
    the portrait's by a tenth of the face or more, which a crop descriptor reads as another
    person. Matching the portrait's own face patch over a range of scales puts both crops
    on the same face region, so the descriptors compare like with like.
    """
    px, py, pw, ph = portrait_box
    pg, fg = to_gray(portrait).astype(np.float32), to_gray(frame).astype(np.float32)
    work = min(1.0, 320.0 / fg.shape[1])
    small = cv2.resize(fg, None, fx=work, fy=work, interpolation=cv2.INTER_AREA) if work < 1 else fg
    # The patch: the inner face (eyes to chin), which a reframing crop rarely cuts.
    ix, iy, iw, ih = px + 0.1 * pw, py + 0.2 * ph, 0.8 * pw, 0.75 * ph
    patch = pg[int(iy):int(iy + ih), int(ix):int(ix + iw)]
    if patch.size == 0:
        return portrait_box, -1.0
    base = (hint[2] / pw) if hint is not None else fg.shape[0] / pg.shape[0]
    best = (-2.0, 1.0, (0, 0))
    for factor in np.geomspace(0.7, 1.4, 15):
        scale = base * factor * work
        tw, th = int(round(patch.shape[1] * scale)), int(round(patch.shape[0] * scale))
        if tw < 12 or th < 12 or tw > small.shape[1] or th > small.shape[0]:
            continue
        tmpl = cv2.resize(patch, (tw, th), interpolation=cv2.INTER_AREA)
        res = cv2.matchTemplate(small, tmpl, cv2.TM_CCOEFF_NORMED)
        _, score, _, loc = cv2.minMaxLoc(res)
        if score > best[0]:
            best = (float(score), scale, loc)
    score, scale, (lx, ly) = best
    if score < -1.0:
        return portrait_box, -1.0
    s = scale / work  # portrait pixels → frame pixels
    fx0, fy0 = lx / work - (ix - px) * s, ly / work - (iy - py) * s
    return (float(fx0), float(fy0), float(pw * s), float(ph * s)), score
