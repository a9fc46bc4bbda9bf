"""Phones with times -> a per-frame mouth track, the way an animator would time it.

* Anticipation: the mouth is drawn for the sound about to be heard, ``lead`` seconds
  (one frame or so) ahead, so the lips are in place when the sound starts; an M/B/P
  closure is fully pressed on the frame where the stop begins.
* Short sounds are never lost: a closure that falls between two frames still gets the
  nearest frame, and every other shape is held at least two frames (no flicker).
* Co-articulation: the continuous pose (open, width) is blended with its neighbours and
  eased with a fast attack and slower release; loudness scales the opening.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.backends.sketch.audio import MouthTrack, frame_centres, true_runs, visemes_from_shapes
from engine.backends.sketch.phonemes import Segment
from engine.backends.sketch.shapes import POSES, SHAPE_A, SHAPE_G, SHAPE_X, SHAPES, TRANSPARENT, phone_shapes
from engine.timebase import fps_fraction

LEAD_S = 0.06  # the mouth moves this far (1-2 frames) ahead of the sound
MIN_HOLD = 2  # frames a shape (other than a closure) stays on screen
_PRIORITY = (SHAPE_A, SHAPE_G)  # brief but essential: shown whenever they overlap a frame enough


def shape_events(phones: Sequence[Segment]) -> list[tuple[int, float, float]]:
    """(shape, start, end) per phone; diphthongs glide in two parts, HH borrows the next vowel's mouth."""
    events: list[tuple[int, float, float]] = []
    for i, p in enumerate(phones):
        shapes = phone_shapes(p.label)
        if p.label in TRANSPARENT and i + 1 < len(phones):
            shapes = phone_shapes(phones[i + 1].label)[:1]
        if len(shapes) == 2:
            mid = p.start + 0.55 * (p.end - p.start)
            events.append((shapes[0], p.start, mid))
            events.append((shapes[1], mid, p.end))
        else:
            events.append((shapes[0], p.start, p.end))
    return events


def frame_shapes(events: list[tuple[int, float, float]], times: np.ndarray, fps: float,
                 lead: float = LEAD_S) -> np.ndarray:
    """The shape each frame shows: the event covering most of its (anticipated) frame interval."""
    n = len(times)
    half = 0.5 / fps
    overlap = np.zeros((len(SHAPES), n), np.float64)
    lo, hi = times + lead - half, times + lead + half
    for shape, a, b in events:
        i0 = max(0, int(np.searchsorted(hi, a, side="right")))
        i1 = min(n, int(np.searchsorted(lo, b, side="left")))
        if i1 > i0:
            overlap[shape, i0:i1] += np.clip(np.minimum(hi[i0:i1], b) - np.maximum(lo[i0:i1], a), 0.0, None)
    out = np.argmax(overlap, axis=0).astype(np.int8)
    out[overlap.sum(axis=0) <= 0] = SHAPE_X
    for shape in _PRIORITY:
        out[overlap[shape] >= 0.3 * (2 * half)] = shape
    # A closure too short to cover 30 % of any frame still takes the frame nearest its middle.
    for shape, a, b in events:
        if shape == SHAPE_A:
            i = int(np.argmin(np.abs(times + lead - 0.5 * (a + b))))
            if out[i] != SHAPE_A and abs(times[i] + lead - 0.5 * (a + b)) <= half + 0.5 * (b - a):
                out[i] = SHAPE_A
    return out


def hold_shapes(shapes: np.ndarray, min_hold: int = MIN_HOLD) -> np.ndarray:
    """Merge runs shorter than ``min_hold`` frames into a neighbour (closures are kept)."""
    out = shapes.copy()
    n = len(out)
    for _ in range(3):
        changed = False
        i = 0
        while i < n:
            j = i
            while j < n and out[j] == out[i]:
                j += 1
            if j - i < min_hold and out[i] != SHAPE_A and 0 < i and j < n:
                prev, nxt = out[i - 1], out[j]
                # Into the neighbour whose pose is closer (an open vowel joins an open vowel).
                here = POSES[int(out[i])]
                d_prev = abs(POSES[int(prev)].open - here.open) + abs(POSES[int(prev)].width - here.width)
                d_next = abs(POSES[int(nxt)].open - here.open) + abs(POSES[int(nxt)].width - here.width)
                fill = prev if (d_prev <= d_next and prev != SHAPE_A) or nxt == SHAPE_A else nxt
                out[i:j] = fill
                changed = True
            i = j
        if not changed:
            break
    return out


def rest_in_pauses(shapes: np.ndarray, loudness: np.ndarray, min_run: int = 4) -> np.ndarray:
    """Frames inside a silent stretch of ``min_run`` frames or more rest (``X``), closures aside.

    Phone boundaries are only as exact as the decoder; the loudness says for certain
    when nobody speaks, so a phone that runs on into a pause does not hold the mouth open.
    """
    out = shapes.copy()
    quiet = np.asarray(loudness[: len(out)]) <= 0.0
    for i, j in true_runs(quiet):
        if j - i >= min_run:
            run = out[i:j]
            run[run != SHAPE_A] = SHAPE_X
    return out


def _ease(target: np.ndarray, fps: float, attack_s: float, release_s: float) -> np.ndarray:
    up = 1.0 - np.exp(-1.0 / (fps * attack_s))
    down = 1.0 - np.exp(-1.0 / (fps * release_s))
    out = np.empty_like(target)
    value = float(target[0]) if len(target) else 0.0
    for i, t in enumerate(target):
        value += (up if t > value else down) * (t - value)
        out[i] = value
    return out


def _blend(x: np.ndarray) -> np.ndarray:
    """Co-articulation: each frame leans a quarter of the way towards each neighbour."""
    if len(x) < 3:
        return x.copy()
    padded = np.concatenate([x[:1], x, x[-1:]])
    return 0.25 * padded[:-2] + 0.5 * padded[1:-1] + 0.25 * padded[2:]


def track_from_phones(phones: Sequence[Segment], fps: float, n_frames: int, loudness: np.ndarray,
                      method: str, alignment: dict[str, Any] | None = None, lead: float = LEAD_S) -> MouthTrack:
    """Build the renderer's mouth track from timed phones and the per-frame loudness (0..1)."""
    times = frame_centres(n_frames, fps)
    fps_f = float(fps_fraction(fps))
    shapes = hold_shapes(rest_in_pauses(frame_shapes(shape_events(phones), times, fps_f, lead), loudness))
    table = np.array([[POSES[s].open, POSES[s].width, POSES[s].press, POSES[s].tuck] for s in range(len(SHAPES))])
    pose = table[shapes.astype(np.int64)]
    energy = np.asarray(loudness, np.float64)[:n_frames]
    if energy.shape[0] < n_frames:
        energy = np.pad(energy, (0, n_frames - energy.shape[0]))
    # Loudness sets how far the jaw goes: a whisper barely opens, a shout opens fully.
    level = _ease(energy, fps_f, 0.02, 0.12)
    speaking = shapes != SHAPE_X
    gain = np.where(speaking, np.clip(level / 0.12, 0.0, 1.0) * (0.35 + 0.65 * np.clip(level / 0.7, 0.0, 1.0)), 0.0)
    open_target = _blend(pose[:, 0] * gain)
    mouth_open = _ease(open_target, fps_f, 0.02, 0.05)
    width = _ease(_blend(pose[:, 1]), fps_f, 0.04, 0.06)
    press = np.clip(_blend(pose[:, 2]), 0.0, 1.0)
    tuck = np.clip(_blend(pose[:, 3]), 0.0, 1.0)
    closed = shapes == SHAPE_A
    press[closed] = 1.0  # fully shut on the stop itself
    mouth_open[closed] = 0.0
    tuck[shapes == SHAPE_G] = 1.0
    mouth_open = np.clip(mouth_open * (1.0 - 0.9 * press), 0.0, 1.0)
    return MouthTrack(open=mouth_open, width=np.clip(width, -1.0, 1.0), energy=level, viseme=visemes_from_shapes(shapes),
                      press=press, tuck=tuck, shape=shapes, method=method, alignment=alignment)


__all__ = ["LEAD_S", "MIN_HOLD", "frame_shapes", "hold_shapes", "rest_in_pauses", "shape_events", "track_from_phones"]
