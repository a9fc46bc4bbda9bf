"""Time curves for the sketch backend: blinks, head motion and the Ken Burns zoom.

Everything is computed up front for the whole shot from the job's seed, so a render is
deterministic and the per-frame loop only looks values up. Blinks follow the rhythm of
a relaxed speaker (one every 2-6 s, 100-150 ms long, the odd double blink); head motion
is low-frequency noise (a few slow sinusoids with random phases) plus a small nod on
the loud onsets of the dialogue, low-passed and speed-limited so it never jumps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class MotionTrack:
    """Per-frame values: eye closure 0..1, head roll (degrees), head shift (face widths), zoom."""

    blink: np.ndarray
    roll: np.ndarray
    shift_x: np.ndarray
    shift_y: np.ndarray
    zoom: np.ndarray
    blink_times: list[tuple[float, float]]


def _blink_shape(phase: np.ndarray) -> np.ndarray:
    """Closure over a blink's duration: lids fall fast (40 %), rise a little slower."""
    close = np.clip(phase / 0.4, 0.0, 1.0)
    reopen = np.clip((1.0 - phase) / 0.6, 0.0, 1.0)
    return np.where((phase >= 0) & (phase <= 1), np.sin(np.minimum(close, reopen) * np.pi / 2) ** 1.5, 0.0)


def blink_schedule(duration: float, rng: np.random.Generator) -> list[tuple[float, float]]:
    """(start, length) of every blink in a shot of ``duration`` seconds."""
    blinks: list[tuple[float, float]] = []
    t = float(rng.uniform(0.4, 2.2))
    while t < duration:
        length = float(rng.uniform(0.10, 0.15))
        blinks.append((t, length))
        if rng.random() < 0.12:  # a quick double blink
            t2 = t + length + float(rng.uniform(0.12, 0.25))
            length2 = float(rng.uniform(0.10, 0.13))
            if t2 < duration:
                blinks.append((t2, length2))
            t = t2 + length2
        t += float(np.clip(rng.gamma(4.0, 0.9), 1.6, 7.0))
    return blinks


def blink_curve(times: np.ndarray, fps: float, blinks: list[tuple[float, float]]) -> np.ndarray:
    """Eye closure per frame: the most closed the lids get while the frame is exposed.

    A 100 ms blink lasts 2.5 frames at 25 fps, so sampling only at the frame time could
    miss its peak; taking the maximum over the frame interval never does.
    """
    out = np.zeros(times.shape, np.float64)
    sub = (np.arange(7) / 6.0 - 0.5) / fps
    samples = times[:, None] + sub[None, :]
    for start, length in blinks:
        near = np.abs(times - (start + length / 2)) < length + 1.0 / fps
        if not near.any():
            continue
        out[near] = np.maximum(out[near], _blink_shape((samples[near] - start) / length).max(axis=1))
    return out


def _slow_noise(times: np.ndarray, rng: np.random.Generator, lo_hz: float, hi_hz: float, waves: int = 3) -> np.ndarray:
    """Smooth noise in [-1, 1]: a sum of slow sinusoids with random frequencies and phases."""
    total = np.zeros_like(times)
    weights = rng.uniform(0.5, 1.0, waves)
    for w in weights:
        freq = float(rng.uniform(lo_hz, hi_hz))
        total += w * np.sin(2 * np.pi * freq * times + float(rng.uniform(0, 2 * np.pi)))
    return total / weights.sum()


def _lowpass(x: np.ndarray, fps: float, tau_s: float) -> np.ndarray:
    """One-pole low-pass with time constant ``tau_s`` (run twice: critically damped)."""
    alpha = 1.0 - np.exp(-1.0 / max(1e-6, tau_s * fps))
    out = np.empty_like(np.asarray(x, np.float64))
    value = float(x[0]) if len(x) else 0.0
    for i, v in enumerate(x):
        value += alpha * (float(v) - value)
        out[i] = value
    return out


def _rate_limit(x: np.ndarray, max_step: float) -> np.ndarray:
    """``x`` with its frame-to-frame change capped at ``max_step``."""
    out = np.empty_like(np.asarray(x, np.float64))
    value = float(x[0]) if len(x) else 0.0
    for i, v in enumerate(x):
        value += float(np.clip(float(v) - value, -max_step, max_step))
        out[i] = value
    return out


def motion_track(
    times: np.ndarray,
    fps: float,
    duration: float,
    energy: np.ndarray,
    seed: int,
    has_eyes: bool = True,
    head_amount: float = 1.0,
    ken_burns: float = 0.0,
) -> MotionTrack:
    """All non-mouth motion of a shot. ``ken_burns`` is the total zoom-in (0.04 = 4 %)."""
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0x5E7C])
    blinks = blink_schedule(duration, rng) if has_eyes else []
    blink = blink_curve(times, fps, blinks)
    # Emphasis: the rise of loudness (syllable and phrase onsets) nods the head down a little.
    rise = np.clip(np.diff(energy, prepend=energy[:1] if len(energy) else 0.0), 0.0, None)
    emphasis = np.zeros_like(rise)
    level = 0.0
    decay = np.exp(-1.0 / (0.25 * fps))
    for i, r in enumerate(rise):
        level = max(level * decay, float(r))
        emphasis[i] = level
    # The peak hold jumps on each onset: low-pass it so the nod eases in over ~0.15 s.
    emphasis = _lowpass(_lowpass(emphasis, fps, 0.08), fps, 0.08)
    k = max(1, int(fps))  # loudness averaged over about a second
    padded = np.pad(np.asarray(energy, np.float64), (k // 2, k - 1 - k // 2), mode="edge") if len(energy) else energy
    speaking = np.convolve(padded, np.ones(k) / k, mode="valid") if len(energy) else energy
    liveliness = (0.6 + 0.6 * speaking) * head_amount
    roll = (1.4 * _slow_noise(times, rng, 0.05, 0.35) + 0.5 * _slow_noise(times, rng, 0.4, 0.9)) * liveliness
    shift_x = 0.012 * _slow_noise(times, rng, 0.04, 0.3) * liveliness
    shift_y = (0.006 * _slow_noise(times, rng, 0.05, 0.4) + 0.018 * emphasis) * head_amount
    # No single-frame jumps whatever the audio does: cap the speed (face widths, degrees per second).
    shift_x = _rate_limit(shift_x, 0.05 / fps)
    shift_y = _rate_limit(shift_y, 0.06 / fps)
    roll = _rate_limit(roll, 6.0 / fps)
    progress = times / max(duration, 1e-6)
    eased = 0.5 - 0.5 * np.cos(np.pi * np.clip(progress, 0.0, 1.0))
    zoom = 1.0 + ken_burns * eased
    return MotionTrack(blink=blink, roll=roll, shift_x=shift_x, shift_y=shift_y, zoom=zoom, blink_times=blinks)


__all__ = ["MotionTrack", "blink_curve", "blink_schedule", "motion_track"]
