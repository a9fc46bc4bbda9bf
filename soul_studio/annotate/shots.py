"""Shot-cut detection from luma histograms and thumbnails, with a threshold that adapts.

Each frame is reduced to a 32-bin luma histogram and a 32×18 grey thumbnail. The
distance between consecutive frames mixes the histogram change (robust to motion) and
the thumbnail change (catches cuts between shots with similar exposure). A cut is a
distance that is a local peak, clears an absolute floor, and stands well above the
frames around it: median + ``k`` × MAD of a one-second window, so a handheld or
flickering shot raises its own bar instead of being chopped into pieces.
"""

from __future__ import annotations

import cv2
import numpy as np

THUMB = (32, 18)
BINS = 32


def frame_signature(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(normalised histogram, small float thumbnail) of one grey frame."""
    hist = cv2.calcHist([gray], [0], None, [BINS], [0, 256]).reshape(-1)
    hist /= max(1.0, float(hist.sum()))
    thumb = cv2.resize(gray, THUMB, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    return hist.astype(np.float32), thumb


def frame_distances(signatures: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """d[i] = change from frame i-1 to frame i (d[0] = 0), roughly 0 (same) .. 1 (unrelated)."""
    d = np.zeros(len(signatures), np.float64)
    for i in range(1, len(signatures)):
        (h0, t0), (h1, t1) = signatures[i - 1], signatures[i]
        hist = 0.5 * float(np.abs(h1 - h0).sum())  # total variation, 0..1
        pix = float(np.abs(t1 - t0).mean()) * 4.0
        d[i] = 0.5 * hist + 0.5 * min(1.0, pix)
    return d


def detect_cuts(distances: np.ndarray, fps: float, k: float = 6.0, floor: float = 0.12,
                min_gap_s: float = 0.3) -> list[int]:
    """Frames that start a new shot (indices into the movie), from :func:`frame_distances`."""
    d = np.asarray(distances, np.float64)
    n = d.size
    half = max(3, int(round(float(fps) / 2)))
    min_gap = max(1, int(round(min_gap_s * float(fps))))
    cuts: list[int] = []
    for i in range(1, n):
        if d[i] < floor:
            continue
        lo, hi = max(1, i - half), min(n, i + half + 1)
        around = np.concatenate([d[lo:i], d[i + 1:hi]])
        if around.size:
            med = float(np.median(around))
            mad = float(np.median(np.abs(around - med))) + 1e-3
            if d[i] < med + k * mad or d[i] <= float(around.max()):
                continue  # not far above its neighbourhood, or not the peak of it
        if cuts and i - cuts[-1] < min_gap:
            if d[i] > d[cuts[-1]]:
                cuts[-1] = i
            continue
        cuts.append(i)
    return cuts


def shots_from_cuts(cuts: list[int], n_frames: int) -> list[tuple[int, int]]:
    """[start, end) frame ranges between cuts."""
    bounds = [0, *[c for c in cuts if 0 < c < n_frames], n_frames]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


__all__ = ["detect_cuts", "frame_distances", "frame_signature", "shots_from_cuts"]
