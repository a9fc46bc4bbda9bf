"""Weight-free audio–visual sync: how well mouth opening follows the loudness of the audio.

A talking mouth opens on voiced sound, so the darkening of the mouth region (the cavity
between the lips) rises and falls with the audio's loudness envelope. Cross-correlating
the two per-frame signals over a range of lags gives the offset at which they agree best
(in frames) and how strongly (a Pearson correlation). The same measure scores takes in
``soul-studio bench`` and filters clips in ``soul-studio annotate``; SyncNet, when its
weights are supplied, is a second opinion, never a replacement.

Sign convention: a positive offset means the picture is late — the mouth moves that many
frames after the sound that drives it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

MAX_LAG = 15
# Below this peak correlation the offset is a guess, not a measurement.
MIN_CONFIDENCE = 0.3


@dataclass
class SyncResult:
    """The lag scan of one mouth track against one audio envelope."""

    offset_frames: int
    confidence: float  # peak Pearson correlation, -1 .. 1
    in_sync: float  # correlation at lag 0: the take as delivered
    margin: float  # peak minus the median over all lags (how distinct the peak is)
    lags: np.ndarray = field(repr=False)
    correlation: np.ndarray = field(repr=False)

    @property
    def reliable(self) -> bool:
        return self.confidence >= MIN_CONFIDENCE and self.margin >= 0.15

    def to_dict(self, fps: float | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "method": "mouth-darkness × audio-envelope cross-correlation",
            "offset_frames": int(self.offset_frames),
            "confidence": round(float(self.confidence), 4),
            "in_sync_correlation": round(float(self.in_sync), 4),
            "margin": round(float(self.margin), 4),
            "reliable": bool(self.reliable),
            "lags": [int(v) for v in self.lags],
            "correlation": [round(float(v), 4) for v in self.correlation],
        }
        if fps:
            out["offset_seconds"] = round(self.offset_frames / float(fps), 4)
        return out


def audio_envelope(samples: np.ndarray, sample_rate: int, fps: float, n_frames: int) -> np.ndarray:
    """Loudness (RMS, log-compressed) of the audio window centred on every frame time."""
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    win = max(16, int(round(1.5 * sample_rate / float(fps))))
    half = win // 2
    padded = np.concatenate([np.zeros(half, np.float32), x, np.zeros(half + 1, np.float32)])
    centres = np.round(np.arange(n_frames) * sample_rate / float(fps)).astype(np.int64)
    starts = np.clip(centres, 0, max(0, padded.size - win))
    # Running sum of squares: the RMS of every window without building a frames × win matrix.
    cumsum = np.concatenate([[0.0], np.cumsum(padded.astype(np.float64) ** 2)])
    energy = (cumsum[starts + win] - cumsum[starts]) / win
    rms = np.sqrt(np.maximum(energy, 0.0))
    return np.log10(rms + 1e-3).astype(np.float32)


def mouth_opening(gray_box: np.ndarray) -> float:
    """How open one mouth crop looks: the darker the cavity, the higher (mean and low tail)."""
    box = np.asarray(gray_box, dtype=np.float32)
    if box.size == 0:
        return 0.0
    low = float(np.percentile(box, 10))
    return -0.5 * (float(box.mean()) + low)


def crop(gray: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """``gray[y:y+h, x:x+w]`` clipped to the picture (x, y, w, h in pixels)."""
    H, W = gray.shape[:2]
    x, y, w, h = box
    x0, y0 = int(np.clip(round(x), 0, W - 1)), int(np.clip(round(y), 0, H - 1))
    x1, y1 = int(np.clip(round(x + w), x0 + 1, W)), int(np.clip(round(y + h), y0 + 1, H))
    return gray[y0:y1, x0:x1]


class RegionTracker:
    """Follows a face region through the frames by phase correlation against the first frame.

    Head motion of a talking shot is a few pixels of translation; phase correlation of the
    face region finds it to a fraction of a pixel and costs two small FFTs a frame.
    """

    def __init__(self, first_gray: np.ndarray, region: tuple[float, float, float, float]) -> None:
        self.region = region
        self._ref = self._patch(first_gray)
        self._window = cv2.createHanningWindow(self._ref.shape[::-1], cv2.CV_32F) if min(self._ref.shape) >= 8 else None

    def _patch(self, gray: np.ndarray) -> np.ndarray:
        return crop(gray, self.region).astype(np.float32)

    def shift(self, gray: np.ndarray) -> tuple[float, float]:
        """(dx, dy) of the region in ``gray`` relative to the first frame."""
        if self._window is None:
            return 0.0, 0.0
        patch = self._patch(gray)
        if patch.shape != self._ref.shape:
            return 0.0, 0.0
        (dx, dy), response = cv2.phaseCorrelate(self._ref, patch, self._window)
        limit = 0.25 * min(self._ref.shape)
        if response < 0.05 or abs(dx) > limit or abs(dy) > limit:
            return 0.0, 0.0
        return float(dx), float(dy)


def _zscore(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    v = v - v.mean()
    sd = v.std()
    return v / sd if sd > 1e-9 else np.zeros_like(v)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    if a.size < 3:
        return 0.0
    a, b = _zscore(a), _zscore(b)
    if not a.any() or not b.any():
        return 0.0
    return float(np.mean(a * b))


def cross_correlate(mouth: np.ndarray, envelope: np.ndarray, max_lag: int = MAX_LAG) -> SyncResult:
    """Scan lags -max_lag..max_lag; lag L pairs the mouth at frame t + L with the audio at t."""
    m = np.asarray(mouth, dtype=np.float64)
    e = np.asarray(envelope, dtype=np.float64)
    n = min(m.size, e.size)
    m, e = m[:n], e[:n]
    max_lag = int(max(0, min(max_lag, n // 3)))
    lags = np.arange(-max_lag, max_lag + 1)
    corr = np.zeros(lags.size)
    for i, lag in enumerate(lags):
        if lag >= 0:
            corr[i] = _pearson(m[lag:], e[: n - lag])
        else:
            corr[i] = _pearson(m[:lag], e[-lag:])
    best = int(np.argmax(corr)) if corr.size else 0
    zero = int(np.nonzero(lags == 0)[0][0]) if corr.size else 0
    return SyncResult(
        offset_frames=int(lags[best]) if corr.size else 0,
        confidence=float(corr[best]) if corr.size else 0.0,
        in_sync=float(corr[zero]) if corr.size else 0.0,
        margin=float(corr[best] - np.median(corr)) if corr.size else 0.0,
        lags=lags,
        correlation=corr,
    )


__all__ = [
    "MAX_LAG",
    "MIN_CONFIDENCE",
    "RegionTracker",
    "SyncResult",
    "audio_envelope",
    "crop",
    "cross_correlate",
    "mouth_opening",
]
