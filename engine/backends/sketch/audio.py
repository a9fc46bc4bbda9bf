"""Per-frame mouth controls from dialogue audio: energy, voicing, a coarse viseme, smoothed.

Frame ``i`` is described by the audio window centred on ``i / fps`` so the lips land on
the sound within a frame. The spectral shape of the window picks a coarse viseme:
a high first formant opens the jaw ("a"), energy up in the second-formant band spreads
the lips ("i", "e", and hiss such as "s"), energy held low with a low first formant
rounds them ("o", "u"). Attack/release smoothing keeps the mouth from flickering while
letting it open on the syllable onset without lag.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
    """Smoothed controls for the renderer, one value per frame."""

    open: np.ndarray  # jaw/lip opening 0 .. 1
    width: np.ndarray  # -1 round .. 0 neutral .. 1 wide
    energy: np.ndarray  # smoothed loudness 0 .. 1, drives head emphasis
    viseme: np.ndarray  # int codes into VISEMES

    @property
    def n_frames(self) -> int:
        return int(self.open.shape[0])

    def viseme_counts(self) -> dict[str, int]:
        return {name: int(np.sum(self.viseme == code)) for code, name in enumerate(VISEMES)}


def frame_centres(n_frames: int, fps: float) -> np.ndarray:
    """Exact frame times i / fps in seconds (rational fps, so 23.976 stays in sync)."""
    rate = fps_fraction(fps)
    return np.arange(n_frames, dtype=np.float64) * (rate.denominator / rate.numerator)


def _band(freqs: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return (freqs >= lo) & (freqs < hi)


def audio_features(samples: np.ndarray, sample_rate: int, fps: float, n_frames: int) -> FrameFeatures:
    """Measure the window centred on every frame time. ``samples`` is mono float audio."""
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    win = int(round(max(0.032, 1.5 / float(fps_fraction(fps))) * sample_rate))
    win += win % 2
    half = win // 2
    padded = np.concatenate([np.zeros(half, np.float32), x, np.zeros(half + 1, np.float32)])
    centres = np.round(frame_centres(n_frames, fps) * sample_rate).astype(np.int64)
    starts = np.clip(centres, 0, max(0, padded.size - win))  # centre c sits at padded[c + half]
    idx = starts[:, None] + np.arange(win)[None, :]
    frames = padded[idx] * np.hanning(win).astype(np.float32)[None, :]

    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1) / 0.375)  # Hann power gain
    db = 20 * np.log10(rms + 1e-9)

    nfft = 1 << int(np.ceil(np.log2(2 * win)))
    spec = np.fft.rfft(frames, nfft, axis=1)
    power = (spec.real**2 + spec.imag**2).astype(np.float64)
    freqs = np.fft.rfftfreq(nfft, 1.0 / sample_rate)

    # Voicing: the strongest normalised autocorrelation peak between 70 and 400 Hz.
    ac = np.fft.irfft(power, nfft, axis=1)[:, :win]
    lo_lag, hi_lag = int(sample_rate / 400), min(win - 1, int(sample_rate / 70))
    voicing = np.clip(ac[:, lo_lag:hi_lag].max(axis=1) / (ac[:, 0] + 1e-12), 0.0, 1.0)

    # Loudness relative to the clip, gated hard below -55 dBFS.
    speech = db[db > -60]
    ref = float(np.percentile(speech, 95)) if speech.size else -20.0
    floor = max(ref - 32.0, -60.0)
    energy = np.clip((db - floor) / max(1.0, ref - floor), 0.0, 1.0)
    energy[db < -55] = 0.0

    b1 = power[:, _band(freqs, 200, 1000)]
    f1 = freqs[_band(freqs, 200, 1000)]
    low = b1.sum(axis=1) + 1e-12
    f1_centroid = (b1 * f1[None, :]).sum(axis=1) / low
    hiss = power[:, _band(freqs, 3500, 8000)].sum(axis=1) + 1e-12
    # Second formant: centroid of the pre-emphasised 0.7-3.2 kHz band.
    m2 = _band(freqs, 700, 3200)
    emphasised = power[:, m2] * (freqs[m2] / 1000.0)[None, :] ** 2
    f2_centroid = (emphasised * freqs[m2][None, :]).sum(axis=1) / (emphasised.sum(axis=1) + 1e-12)
    openness = np.clip((f1_centroid - 380.0) / 320.0, 0.0, 1.0)
    wide = np.clip((f2_centroid - 1500.0) / 500.0, 0.0, 1.0)
    # Rounding needs a low F2 *and* a low F1: an "a" also has little energy above 1.5 kHz.
    rounded = np.clip((1500.0 - f2_centroid) / 400.0, 0.0, 1.0) * np.clip((600.0 - f1_centroid) / 150.0, 0.0, 1.0)
    spread = wide - rounded
    fricative = np.clip(np.log10(hiss / low) + 0.5, 0.0, 1.0) * (1.0 - voicing)
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
    return MouthTrack(open=mouth_open, width=np.clip(width, -1, 1), energy=energy, viseme=labels)


__all__ = ["CLOSED", "OPEN", "ROUND", "VISEMES", "WIDE", "FrameFeatures", "MouthTrack", "audio_features",
           "frame_centres", "mouth_track"]
