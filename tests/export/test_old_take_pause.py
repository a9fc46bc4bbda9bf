"""A take made before pauses were rendered (offset < 0) holds its first frame through the pause,
in every stretch an export can start or end in, as the viewer shows it."""

from __future__ import annotations

import numpy as np

from soul_studio.export import ExportOptions, export_project
from tests.export.builders import build_project
from tests.export.conftest import decode_frames

FPS = 24.0


def _old_take_scene(folder):
    project = build_project(folder)
    shot = project.timeline_shots()[0]
    shot.handle_head = 0.25  # 6 frames of pause the take was not rendered with
    shot.takes[0].offset = -6
    return project, shot


def _options(**kw) -> ExportOptions:
    return ExportOptions(stale_check=lambda s, t: False, **kw)


def test_a_range_inside_the_pause_shows_the_takes_first_frame_not_the_portrait(tmp_path):
    project, _ = _old_take_scene(tmp_path / "scene")
    frames = decode_frames(export_project(project, "mp4", tmp_path / "pause.mp4", _options(frame_range=(1, 5))).path)
    assert len(frames) == 4  # (the take is stale; a stale check that says otherwise lets it be delivered)
    for f in frames:  # the take's frame 0 (red 220, green 10), not the green portrait
        assert abs(float(np.median(f[..., 0])) - 220) < 12 and abs(float(np.median(f[..., 1])) - 10) < 12
