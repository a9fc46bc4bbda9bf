"""Constants and helpers shared by the sketch tests (imported by name; tests/ is no package)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.jobs import JobSpec

SIZE = 256
DURATION = 3.2
LOUD = (1.0, 2.2)  # seconds of speech; silence before and after


def make_job(media: dict[str, Path], out: Path, **changes: object) -> JobSpec:
    job = JobSpec(
        shot_id="s1",
        portrait_path=str(media["portrait"]),
        audio_path=str(media["audio"]),
        duration=DURATION,
        fps=25.0,
        width=SIZE,
        height=SIZE,
        output_path=str(out),
        seed=7,
        framing="full_body",  # the whole picture: output pixels are portrait pixels
    )
    return job.replace(**changes)


class ListSink:
    """Keeps every frame (small test renders only)."""

    def __init__(self) -> None:
        self.frames: list[np.ndarray] = []

    def write(self, frame: np.ndarray) -> None:
        self.frames.append(np.array(frame, copy=True))
