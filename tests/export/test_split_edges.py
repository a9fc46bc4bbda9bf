"""Splits on the awkward frames: where the line starts, inside the reaction after it, in a two-shot.

Each split must keep the cut as it was: the same length, every exported frame the same
take frame (colour-coded takes, see ``builders``) and the same sound, sample for sample.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from soul_studio.export import ExportOptions, export_project
from soul_studio.project.edits import EditHistory
from soul_studio.render.planner import current_hash
from soul_studio.render.split import split_keeping_picture
from soul_studio.render.takes import TakeJudge
from tests.export.builders import build_project, write_take
from tests.export.conftest import decode_audio, decode_frames

FPS = 24.0


def _take_frames(frames: list[np.ndarray], count: int) -> list[int]:
    return [int(round((float(np.median(f[..., 1])) - 10) / 8)) for f in frames[:count]]


def _scene(folder, head: float = 0.0, tail: float = 0.0, partner: bool = False):
    """The export scene, its first shot with handles (and a partner's line), rendered as it is now."""
    project = build_project(folder)
    shot = project.timeline_shots()[0]
    shot.handle_head, shot.handle_tail = head, tail
    if partner:
        shot.partner_id = project.characters[1].id
        shot.partner_audio, shot.partner_audio_in, shot.partner_audio_out = "media/line1.wav", 0.25, 1.0
        shot.partner_audio_length = 1.5
    write_take(project.folder / "takes" / "a_now.mp4", 0, shot.frames(FPS), project.width, project.height, FPS)
    shot.takes[0].file = "takes/a_now.mp4"
    shot.takes[0].job_hash = current_hash(project, shot, "final", "sketch")
    return project, shot


def _split_keeps_the_cut(project, shot, frame: int, tmp_path):
    """Split ``shot`` at ``frame``; check length, pictures and sound against the unsplit export; undo."""
    whole = export_project(project, "mp4", tmp_path / "whole.mp4", ExportOptions())
    n, total = shot.frames(FPS), project.duration_frames()
    history = EditHistory(project)
    history.push(split_keeping_picture(project, shot.id, frame))
    head, tail = copy.deepcopy(project.timeline_shots()[:2])  # as the split left them (undo comes later)
    assert (head.frames(FPS), tail.frames(FPS)) == (frame, n - frame)
    assert project.duration_frames() == total
    judge, (now_head, now_tail) = TakeJudge(project), project.timeline_shots()[:2]
    assert [t.offset for t in now_tail.takes] == [frame] and judge.fresh(now_tail, now_tail.takes[0])
    assert judge.fresh(now_head, now_head.takes[-1])
    halves = export_project(project, "mp4", tmp_path / "halves.mp4", ExportOptions())
    shown = _take_frames(decode_frames(halves.path), n)
    assert shown[:30] == list(range(min(n, 30)))  # (green wraps after take frame 30)
    assert shown == _take_frames(decode_frames(whole.path), n)
    a, b = decode_audio(whole.path), decode_audio(halves.path)
    assert a.shape == b.shape and np.abs(a).max() > 0.1 and np.abs(a - b).max() < 2e-3
    history.undo()
    assert project.duration_frames() == total and project.timeline_shots()[0].frames(FPS) == n
    return head, tail


def test_a_split_on_the_frame_the_line_starts_cuts_on_that_frame(tmp_path):
    project, shot = _scene(tmp_path / "scene", head=0.25)  # the line starts at frame 6
    head, tail = _split_keeps_the_cut(project, shot, 6, tmp_path)
    assert head.audio is None and head.text == ""  # all pause
    assert tail.audio_in == pytest.approx(0.25) and tail.handle_head == 0.0


def test_a_split_inside_the_reaction_keeps_the_line_whole_and_the_length(tmp_path):
    project, shot = _scene(tmp_path / "scene", head=0.25, tail=0.5)  # pause 6, line 24, reaction 12 frames
    head, tail = _split_keeps_the_cut(project, shot, 36, tmp_path)
    assert (head.audio_in, head.audio_out) == (0.25, 1.25) and head.handle_tail == pytest.approx(0.25)
    assert tail.audio is None and tail.frames(FPS) == 6


def test_a_two_shot_split_divides_both_lines(tmp_path):
    project, shot = _scene(tmp_path / "scene", head=0.25, partner=True)  # own line 1 s, partner's 0.75 s
    head, tail = _split_keeps_the_cut(project, shot, 18, tmp_path)
    assert head.partner_audio_out == pytest.approx(0.75) and tail.partner_audio_in == pytest.approx(0.75)


def test_a_two_shot_split_after_the_partner_finished_leaves_the_tail_one_line(tmp_path):
    project, shot = _scene(tmp_path / "scene", partner=True)
    head, tail = _split_keeps_the_cut(project, shot, 20, tmp_path)  # the partner's 18 frames are over
    assert (head.partner_audio_in, head.partner_audio_out) == (0.25, 1.0)
    assert tail.partner_audio is None and tail.audio_in == pytest.approx(0.25 + 20 / FPS)


def test_both_halves_keep_the_picked_take_not_the_newest(tmp_path):
    from soul_studio.project.model import Take
    from tests.export.builders import write_take

    project, shot = _scene(tmp_path / "scene")
    write_take(project.folder / "takes" / "a_draft.mp4", 1, shot.frames(FPS), project.width, project.height, FPS)
    draft = Take("takes/a_draft.mp4", current_hash(project, shot, "draft", "sketch"), "sketch", "draft")
    shot.takes.insert(0, draft)
    shot.picked_take = draft.id  # the editor prefers the draft's performance to the newer final
    history = EditHistory(project)
    history.push(split_keeping_picture(project, shot.id, 10))
    frames = decode_frames(export_project(project, "mp4", tmp_path / "cut.mp4", ExportOptions()).path)
    assert [round(float(np.median(f[..., 0])) / 10) for f in frames[:24]] == [12] * 24  # the draft's red, throughout
    history.undo()
    history.redo()
    head, tail = project.timeline_shots()[:2]
    assert head.take(head.picked_take).file == tail.take(tail.picked_take).file == "takes/a_draft.mp4"
