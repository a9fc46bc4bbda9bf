"""Streaming arithmetic for long shots: 25 fps model windows and the retime to the take's rate.

InfiniteTalk renders at 25 fps in windows of 81 frames. Every window after the first
starts with the last ``motion`` (9) frames of the previous one as known latents (3 latent
frames: 1 + 4 + 4 video frames); its decoded copy of them is dropped, so each later
window adds ``window − motion`` (72) new frames and its local frame ``k`` is shot frame
``start + k``. Audio is cut by the same frame indices, so picture and sound stay locked.

The take's own rate (23.976, 24, 25, 29.97, 30) is reached by nearest-frame retiming with
the audio as master: output frame ``j`` (at ``j / fps``) shows the 25 fps frame nearest
that time, and exactly ``frame_count`` frames are written. Pure arithmetic, no torch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from engine.backends.base import FrameSink
from engine.timebase import fps_fraction

STRIDE = 4  # Wan VAE: 4 video frames per latent frame after the first
MODEL_FPS = Fraction(25)


def round_up_4k1(frames: int) -> int:
    """Smallest ``4k + 1`` at least ``frames``."""
    return 1 + STRIDE * max(0, math.ceil((frames - 1) / STRIDE))


def latent_count(frames: int) -> int:
    if frames < 1 or (frames - 1) % STRIDE:
        raise ValueError(f"{frames} frames is not of the form 4k+1")
    return (frames - 1) // STRIDE + 1


@dataclass(frozen=True)
class Window:
    """One model window. Local frame ``k`` is 25 fps shot frame ``start + k``.

    The first ``drop`` decoded frames repeat the previous window and are skipped; the
    next ``keep`` frames are new and inside the shot. ``known`` latent frames at the head
    are given (the portrait latent on the first window, motion latents after it).
    """

    index: int
    start: int
    frames: int
    known: int
    drop: int
    keep: int

    @property
    def latents(self) -> int:
        return latent_count(self.frames)


def plan_windows(total: int, window: int = 81, motion: int = 9, min_window: int = 33) -> list[Window]:
    """Windows covering ``total`` 25 fps frames; their ``keep`` counts add up to ``total``.

    The last window (and a short shot's only one) shrinks to the smallest ``4k + 1`` that
    holds what is left, but not below ``min_window`` frames, so the model keeps enough
    context; surplus frames past the shot are generated and not kept.
    """
    if total < 1:
        raise ValueError("a shot has at least one frame")
    latent_count(window)
    latent_count(motion)
    if window - motion < STRIDE:
        raise ValueError(f"window {window} leaves no new frames after {motion} motion frames")
    min_window = min(window, round_up_4k1(max(min_window, motion + STRIDE)))
    first = min(window, max(round_up_4k1(total), min_window))
    plan = [Window(0, 0, first, known=1, drop=0, keep=min(first, total))]
    done = plan[0].keep
    while done < total:
        prev = plan[-1]
        start = prev.start + prev.frames - motion
        remaining = total - done
        size = min(window, max(round_up_4k1(motion + remaining), min_window))
        keep = min(size - motion, remaining)
        plan.append(Window(len(plan), start, size, known=latent_count(motion), drop=motion, keep=keep))
        done += keep
    return plan


def source_frames_for(count: int, fps: float) -> int:
    """25 fps frames needed to retime into ``count`` frames at ``fps``."""
    return source_index(count - 1, fps) + 1


def source_index(j: int, fps: float) -> int:
    """The 25 fps frame nearest the time of output frame ``j`` at ``fps`` (halves round up)."""
    return int(math.floor(Fraction(j) * MODEL_FPS / fps_fraction(fps) + Fraction(1, 2)))


class FpsConformer:
    """A sink of 25 fps frames that writes exactly ``count`` frames at ``fps`` to ``sink``.

    Frames arrive in order; each is written as many times as output frames map to it
    (0, 1 or 2), so only the current frame is ever held.
    """

    def __init__(self, sink: FrameSink, count: int, fps: float) -> None:
        self.sink, self.count, self.fps = sink, int(count), float(fps)
        self.received = 0
        self.written = 0
        self.needed = source_frames_for(self.count, self.fps)

    def write(self, frame: np.ndarray) -> None:
        index = self.received
        self.received += 1
        while self.written < self.count and source_index(self.written, self.fps) == index:
            self.sink.write(frame)
            self.written += 1

    @property
    def done(self) -> bool:
        return self.written >= self.count


def plan_dict(plan: list[Window]) -> list[dict[str, Any]]:
    return [asdict(w) for w in plan]
