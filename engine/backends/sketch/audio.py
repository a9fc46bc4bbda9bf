"""Per-frame mouth controls from dialogue audio: energy, voicing, a coarse viseme, smoothed.

Frame ``i`` is described by the audio window centred on ``i / fps`` so the lips land on
the sound within a frame. The spectral shape of the window picks a coarse viseme:
a high first formant opens the jaw ("a"), energy up in the second-formant band spreads
the lips ("i", "e", and hiss such as "s"), energy held low with a low first formant
rounds them ("o", "u"). Attack/release smoothing keeps the mouth from flickering while
letting it open on the syllable onset without lag.

This is the last of three ways to a mouth track (see ``lipsync``): phones aligned to the
script, phones recognised from the audio, and this spectral guess when neither works.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.backends.sketch.shapes import (
    SHAPE_A,
    SHAPE_B,
    SHAPE_C,
    SHAPE_D,
    SHAPE_E,
    SHAPE_F,
    SHAPE_X,
    SHAPES,
    shape_string,
)
from engine.media.spool import SampleSource, sample_source
from engine.timebase import fps_fraction

VISEMES: tuple[str, ...] = ("closed", "open", "round", "wide")
CLOSED, OPEN, ROUND, WIDE = range(4)


@dataclass
class FrameFeatures:
    """Raw per-frame measurements of the audio (all arrays of length n_frames)."""

    db: np.ndarray  # RMS level of the window, dBFS
    energy: np.ndarray  # loudness normalised to the clip, 0 (silence) .. 1 (loud speech)
    voicing: np.ndarray  # normalised autocorrelation peak in the pitch range, 0 .. 1
    openness: np.ndarray  # first-formant height, 0 (closed vowels) .. 1 ("a")
    spread: np.ndarray  # lip spread from the spectrum, -1 (round) .. 1 (wide)


@dataclass
class MouthTrack:
    """Smoothed controls for the renderer, one value per frame.

    ``open``/``width``/``press``/``tuck`` are the lip pose; ``shape`` is the mouth drawn in
    animation terms (codes into :data:`~engine.backends.sketch.shapes.SHAPES`) and
    ``viseme`` the coarse four-class label older code reads. ``method`` says how the track
    was made (``aligned`` to the script, ``recognised`` phones, or ``spectral``) and
    ``alignment`` holds the words and phones with their times when phones were used.
    """

    open: np.ndarray  # jaw/lip opening 0 .. 1
    width: np.ndarray  # -1 pursed/round .. 0 neutral .. 1 spread/wide
    energy: np.ndarray  # smoothed loudness 0 .. 1, drives head emphasis
    viseme: np.ndarray  # int codes into VISEMES
    press: np.ndarray | None = None  # 0 .. 1 lips pressed shut (M/B/P); zeros when not given
    tuck: np.ndarray | None = None  # 0 .. 1 lower lip tucked under the teeth (F/V)
    shape: np.ndarray | None = None  # int codes into SHAPES; derived from ``viseme`` when not given
    method: str = "spectral"
    alignment: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        n = self.open.shape[0]
        if self.press is None:
            self.press = np.zeros(n, np.float64)
        if self.tuck is None:
            self.tuck = np.zeros(n, np.float64)
        if self.shape is None:
            self.shape = shapes_from_visemes(self.viseme, self.open)

    @property
    def n_frames(self) -> int:
        return int(self.open.shape[0])

    def viseme_counts(self) -> dict[str, int]:
        return {name: int(np.sum(self.viseme == code)) for code, name in enumerate(VISEMES)}

    def shape_counts(self) -> dict[str, int]:
        return {name: int(np.sum(self.shape == code)) for code, name in enumerate(SHAPES)}

    def shape_letters(self) -> str:
        return shape_string(self.shape)

    def summary(self) -> dict[str, Any]:
        """What the take sidecar records: the path taken, one shape letter per frame, the alignment."""
        out: dict[str, Any] = {"method": self.method, "shape_set": "".join(SHAPES),
                               "shapes": self.shape_letters(), "shape_counts": self.shape_counts()}
        if self.alignment:
            out.update(self.alignment)
        return out


def shapes_from_visemes(viseme: np.ndarray, mouth_open: np.ndarray) -> np.ndarray:
    """Best mouth shape for a coarse label (used when only the spectral path ran)."""
    out = np.full(viseme.shape, SHAPE_C, dtype=np.int8)
    out[(viseme == OPEN) & (mouth_open > 0.7)] = SHAPE_D
    out[(viseme == OPEN) & (mouth_open < 0.3)] = SHAPE_B
    out[viseme == WIDE] = SHAPE_B
    out[(viseme == ROUND) & (mouth_open >= 0.35)] = SHAPE_E
    out[(viseme == ROUND) & (mouth_open < 0.35)] = SHAPE_F
    out[viseme == CLOSED] = SHAPE_X
    return out


def visemes_from_shapes(shape: np.ndarray) -> np.ndarray:
    """The four-class label of each mouth shape (closed, open, round, wide)."""
    table = np.array([CLOSED, CLOSED, WIDE, OPEN, OPEN, ROUND, ROUND, CLOSED, OPEN], dtype=np.int8)
    return table[np.asarray(shape, dtype=np.int64)]


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``(start, stop)`` of every run of True in a 1-D mask, stop exclusive."""
    m = np.concatenate([[False], np.asarray(mask, bool).reshape(-1), [False]])
    edges = np.flatnonzero(m[1:] != m[:-1])
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def frame_centres(n_frames: int, fps: float) -> np.ndarray:
    """Exact frame times i / fps in seconds (rational fps, so 23.976 stays in sync)."""
    rate = fps_fraction(fps)
    return np.arange(n_frames, dtype=np.float64) * (rate.denominator / rate.numerator)


def _band(freqs: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return (freqs >= lo) & (freqs < hi)


def _windows(x: SampleSource, starts: np.ndarray, win: int) -> np.ndarray:
    """Rows ``x[s : s + win]`` for every start ``s`` (zero outside the signal).

    Only the span the rows cover is read from ``x``, so a spooled clip is read a block at a time.
    """
    lo, hi = int(starts.min()), int(starts.max()) + win
    seg = np.zeros(hi - lo, np.float32)
    a, b = max(lo, 0), min(hi, x.size)
    if b > a:
        seg[a - lo:b - lo] = x[a:b]
    return seg[(starts - lo)[:, None] + np.arange(win)[None, :]]


def audio_features(samples: np.ndarray | SampleSource, sample_rate: int, fps: float, n_frames: int,
                   block: int = 256) -> FrameFeatures:
    """Measure the window centred on every frame time. ``samples`` is mono float audio (or a spool).

    Frames are analysed ``block`` at a time, reading only their windows, so memory stays flat
    however long the shot: only the per-frame measurements (a few floats each) are kept.
    """
    x = sample_source(samples)
    win = int(round(max(0.032, 1.5 / float(fps_fraction(fps))) * sample_rate))
    win += win % 2
    half = win // 2
    centres = np.round(frame_centres(n_frames, fps) * sample_rate).astype(np.int64)
    nfft = 1 << int(np.ceil(np.log2(2 * win)))
    freqs = np.fft.rfftfreq(nfft, 1.0 / sample_rate)
    hann = np.hanning(win).astype(np.float32)[None, :]
    lo_lag, hi_lag = int(sample_rate / 400), min(win - 1, int(sample_rate / 70))
    m1, m2, mh = _band(freqs, 200, 1000), _band(freqs, 700, 3200), _band(freqs, 3500, 8000)
    f1, f2 = freqs[m1], freqs[m2]
    emphasis = (f2 / 1000.0) ** 2

    db = np.empty(n_frames, np.float64)
    voicing = np.empty(n_frames, np.float64)
    f1_centroid = np.empty(n_frames, np.float64)
    f2_centroid = np.empty(n_frames, np.float64)
    hiss_ratio = np.empty(n_frames, np.float64)
    for i0 in range(0, n_frames, max(1, block)):
        sl = slice(i0, min(n_frames, i0 + max(1, block)))
        frames = _windows(x, np.clip(centres[sl] - half, -half, None), win) * hann
        rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1) / 0.375)  # Hann power gain
        db[sl] = 20 * np.log10(rms + 1e-9)
        spec = np.fft.rfft(frames, nfft, axis=1)
        power = (spec.real**2 + spec.imag**2).astype(np.float64)
        del spec
        # Voicing: the strongest normalised autocorrelation peak between 70 and 400 Hz.
        ac = np.fft.irfft(power, nfft, axis=1)[:, :win]
        voicing[sl] = np.clip(ac[:, lo_lag:hi_lag].max(axis=1) / (ac[:, 0] + 1e-12), 0.0, 1.0)
        del ac
        b1 = power[:, m1]
        low = b1.sum(axis=1) + 1e-12
        f1_centroid[sl] = (b1 * f1[None, :]).sum(axis=1) / low
        hiss_ratio[sl] = (power[:, mh].sum(axis=1) + 1e-12) / low
        # Second formant: centroid of the pre-emphasised 0.7-3.2 kHz band.
        emphasised = power[:, m2] * emphasis[None, :]
        f2_centroid[sl] = (emphasised * f2[None, :]).sum(axis=1) / (emphasised.sum(axis=1) + 1e-12)

    # Loudness relative to the clip, gated hard below -55 dBFS.
    speech = db[db > -60]
    ref = float(np.percentile(speech, 95)) if speech.size else -20.0
    floor = max(ref - 32.0, -60.0)
    energy = np.clip((db - floor) / max(1.0, ref - floor), 0.0, 1.0)
    energy[db < -55] = 0.0

    openness = np.clip((f1_centroid - 380.0) / 320.0, 0.0, 1.0)
    wide = np.clip((f2_centroid - 1500.0) / 500.0, 0.0, 1.0)
    # Rounding needs a low F2 *and* a low F1: an "a" also has little energy above 1.5 kHz.
    rounded = np.clip((1500.0 - f2_centroid) / 400.0, 0.0, 1.0) * np.clip((600.0 - f1_centroid) / 150.0, 0.0, 1.0)
    spread = wide - rounded
    fricative = np.clip(np.log10(hiss_ratio) + 0.5, 0.0, 1.0) * (1.0 - voicing)
    spread = spread * (1.0 - fricative) + fricative  # an "s" shows teeth with the lips spread
    openness = openness * (1.0 - 0.7 * fricative)
    return FrameFeatures(db=db, energy=energy, voicing=voicing, openness=openness, spread=spread)


def _attack_release(target: np.ndarray, fps: float, attack_s: float, release_s: float) -> np.ndarray:
    dt = 1.0 / float(fps_fraction(fps))
    up = 1.0 - np.exp(-dt / attack_s)
    down = 1.0 - np.exp(-dt / release_s)
    out = np.empty_like(target)
    value = 0.0
    for i, t in enumerate(target):
        value += (up if t > value else down) * (t - value)
        out[i] = value
    return out


def mouth_track(features: FrameFeatures, fps: float, attack_s: float = 0.02, release_s: float = 0.07) -> MouthTrack:
    """Turn raw features into smoothed mouth controls and a per-frame viseme label."""
    e = features.energy
    shape = 0.35 + 0.65 * features.openness
    open_target = np.clip(e**0.7 * shape * 1.1, 0.0, 1.0)
    width_target = features.spread * np.clip(e * 3.0, 0.0, 1.0)
    mouth_open = _attack_release(open_target, fps, attack_s, release_s)
    width = _attack_release(width_target, fps, 0.05, 0.05)
    energy = _attack_release(e, fps, attack_s, 0.15)

    labels = np.full(mouth_open.shape, OPEN, dtype=np.int8)
    labels[width < -0.3] = ROUND
    labels[width > 0.3] = WIDE
    labels[mouth_open < 0.12] = CLOSED
    # Hold each label for at least two frames so the class does not chatter.
    for i in range(1, len(labels) - 1):
        if labels[i] != labels[i - 1] and labels[i + 1] != labels[i]:
            labels[i] = labels[i - 1]
    width = np.clip(width, -1, 1)
    shape = shapes_from_visemes(labels, mouth_open)
    press = np.zeros(mouth_open.shape, np.float64)
    # A short closure inside speech is a stop (most often M/B/P): show it as pressed lips.
    closed = labels == CLOSED
    short = max(1, int(round(0.2 * float(fps_fraction(fps)))))
    n = len(labels)
    for i, j in true_runs(closed):
        if i > 0 and j < n and j - i <= short:
            shape[i:j] = SHAPE_A
            press[i:j] = 1.0
    return MouthTrack(open=mouth_open, width=width, energy=energy, viseme=labels, press=press,
                      tuck=np.zeros_like(press), shape=shape, method="spectral")


__all__ = ["CLOSED", "OPEN", "ROUND", "VISEMES", "WIDE", "FrameFeatures", "MouthTrack", "audio_features",
           "frame_centres", "mouth_track", "shapes_from_visemes", "visemes_from_shapes"]
