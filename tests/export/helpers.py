"""Reading pictures and sound back: which shot a frame shows, which tone a stretch holds."""

from __future__ import annotations

import numpy as np

from tests.export.builders import PORTRAIT_RGB, SHOT_RED


def classify(frame: np.ndarray) -> tuple[str, int]:
    """('A'|'B', frame index), ('black', -1), ('portrait', -1) or ('other', -1) for a decoded frame."""
    h, w = frame.shape[:2]
    centre = frame[h // 4 : 3 * h // 4, w // 3 : 2 * w // 3].reshape(-1, 3).astype(float).mean(axis=0)
    if frame.max() < 24:
        return "black", -1
    if np.all(np.abs(centre - PORTRAIT_RGB) < 12) and frame[:, :4].max() < 24:
        return "portrait", -1
    for name, key in (("A", 0), ("B", 1)):
        if abs(centre[0] - SHOT_RED[key]) < 10 and abs(centre[2] - 128) < 10:
            return name, int(round((centre[1] - 10) / 8))
    return "other", -1


def dominant_hz(samples: np.ndarray, rate: int = 48_000) -> float:
    mono = samples.mean(axis=0) if samples.ndim == 2 else samples
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    return float(np.fft.rfftfreq(len(mono), 1 / rate)[int(np.argmax(spectrum))])


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0
