"""Trimming a two-shot trims both lines as one clip, as linked audio trims in an NLE: a head trim
keeps the two characters in sync, a tail trim moves the edge where the longer line ends."""

from __future__ import annotations

import numpy as np
import pytest

from soul_studio.export.cut import plan_cut
from soul_studio.export.options import ExportOptions
from soul_studio.export.soundtrack import build_soundtrack
from soul_studio.project import load_project
from soul_studio.project.edits import EditHistory
from soul_studio.project.ripple import ripple_trim
from tests.render.tiny import tiny_demo

FPS = 24.0
RATE = 48_000


@pytest.fixture
def two_shot(tmp_path):
    """The demo's first shot (Ben, 1 s) as a two-shot with Ada's recorded line, 1.5 s, both from the start."""
    project = load_project(tiny_demo(tmp_path / "demo", seconds=1.0, shots=2))
    ben, ada = project.timeline_shots()
    ben.partner_id, ben.partner_audio, ben.partner_audio_in = ada.character_id, ada.audio, 0.0
    ben.partner_audio_out, ben.partner_audio_length = 1.5, ada.audio_length
    project.timeline.entries = project.timeline.entries[:1]
    return project, ben


def _sound(project) -> np.ndarray:
    cut = plan_cut(project, ExportOptions())
    for seg in cut.segments:
        seg.take, seg.take_path = None, None
    return build_soundtrack(project, cut).samples


def test_a_tail_trim_shortens_a_two_shot_whose_partner_speaks_longer(two_shot):
    project, shot = two_shot
    assert shot.frames(FPS) == 36 and shot.partner_audio_length > 1.75
    ripple_trim(project, shot.id, tail_frames=-6).apply(project)  # longer: only the line ending at the edge grows
    assert shot.frames(FPS) == 42 and shot.partner_audio_out == pytest.approx(1.75)
    assert shot.audio_out == pytest.approx(1.0)  # Ben's own line ended before; it does not run on
    ripple_trim(project, shot.id, tail_frames=24).apply(project)  # 24 frames off its end
    assert shot.frames(FPS) == 18 and project.duration_frames() == 18
    assert shot.partner_audio_out == pytest.approx(0.75) and shot.audio_out == pytest.approx(0.75)


def test_a_head_trim_keeps_both_lines_in_sync_and_undo_restores_them(two_shot):
    project, shot = two_shot
    before = _sound(project)
    history = EditHistory(project)
    history.push(ripple_trim(project, shot.id, head_frames=6))  # a quarter second off the head
    assert (shot.audio_in, shot.partner_audio_in) == (pytest.approx(0.25), pytest.approx(0.25))
    after = _sound(project)
    skip = RATE // 4
    assert after.shape[1] == before.shape[1] - skip and np.abs(before).max() > 0.3
    assert np.abs(after - before[:, skip:]).max() < 1e-4  # the same conversation, a quarter second in
    history.undo()
    assert np.abs(_sound(project) - before).max() < 1e-6
    history.push(ripple_trim(project, shot.id, head_frames=-6))  # extended before both recordings: a pause
    assert shot.handle_head == pytest.approx(0.25) and (shot.audio_in, shot.partner_audio_in) == (0.0, 0.0)


def test_a_head_trim_past_the_shorter_line_leaves_a_two_shot_that_renders(two_shot):
    from soul_studio.render.planner import job_for_shot

    project, shot = two_shot
    shot.partner_audio_out = 0.5  # Ada only says half a second; trim three quarters off the head
    history = EditHistory(project)
    history.push(ripple_trim(project, shot.id, head_frames=18))
    assert shot.partner_audio is None and shot.audio_in == pytest.approx(0.75) and shot.frames(FPS) == 6
    job = job_for_shot(project, shot, "draft", "infinitetalk")
    assert [bool(s.get("audio_path")) for s in job.options["speakers"]].count(True) == 1  # Ada listens
    history.undo()
    assert shot.partner_audio is not None and shot.partner_audio_out == 0.5 and shot.frames(FPS) == 24
