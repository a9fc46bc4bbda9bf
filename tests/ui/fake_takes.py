"""Takes written straight to disk (no engine): flat colours that say which take and which frame.

Red is the take's tint, green is ``10 + 6 × frame``, so a decoded frame tells which take
and which of its frames the viewer or an export used.
"""

from __future__ import annotations

import numpy as np

from engine.media import VideoWriter
from soul_studio.project.edits import AddTake
from soul_studio.project.model import Project, Shot, Take
from soul_studio.render.planner import current_hash, render_size


def take_rgb(red: int, frame: int) -> tuple[int, int, int]:
    return red, min(250, 10 + 6 * frame), 128


def write_take(project: Project, shot: Shot, quality: str, red: int, name: str | None = None) -> Take:
    """A take of the shot as it is now (fresh), ``red`` tinted, at the quality's render size."""
    width, height = render_size(project, quality, "sketch")
    frames = shot.frames(project.fps)
    folder = project.takes_folder
    assert folder is not None
    folder.mkdir(exist_ok=True)
    path = folder / (name or f"{shot.id}_{quality}_{red}.mp4")
    with VideoWriter(path, project.fps, width, height, "h264") as writer:
        for i in range(frames):
            writer.write(np.full((height, width, 3), take_rgb(red, i), np.uint8))
    job_hash = current_hash(project, shot, quality, "sketch")
    assert job_hash is not None
    return Take(project.relative(path), job_hash, "sketch", quality)


def add_take(studio, shot_id: str, quality: str, red: int) -> Take:
    """Record a fake render the way the render controller does (not an undo step)."""
    project = studio.document.project
    take = write_take(project, project.shots[shot_id], quality, red)
    studio.document.apply_untracked(AddTake(shot_id, take))
    return take


def mean_rgb(image) -> tuple[float, float, float]:
    """Mean colour of a QImage (any format) as floats."""
    from PySide6.QtGui import QImage

    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    data = np.frombuffer(rgb.constBits(), np.uint8).reshape(rgb.height(), rgb.bytesPerLine())
    pixels = data[:, : rgb.width() * 3].reshape(rgb.height(), rgb.width(), 3)
    return tuple(float(v) for v in pixels.reshape(-1, 3).mean(axis=0))  # type: ignore[return-value]
