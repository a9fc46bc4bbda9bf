"""The document model: durations, placements, edits with exact undo."""

from __future__ import annotations

import copy

import pytest

from soul_studio.project import Character, Project, Shot, Take
from soul_studio.project.edits import (
    AddMarker,
    AddShot,
    EditHistory,
    MoveShot,
    RemoveShots,
    SetShotFields,
    SplitShot,
    trim_shot,
)
from soul_studio.project.model import Marker


def scene() -> Project:
    project = Project(name="Scene", fps=24)
    ada = Character("Ada")
    project.characters.append(ada)
    history = EditHistory(project)
    for i, secs in enumerate([2.0, 1.5, 3.0]):
        history.push(AddShot(Shot(character_id=ada.id, text=f"line {i}", audio=f"l{i}.wav", audio_length=secs)))
    return project


def test_duration_from_audio_range_and_hold():
    shot = Shot(audio="a.wav", audio_in=0.5, audio_out=2.0, audio_length=3.0)
    assert shot.duration == pytest.approx(1.5)
    assert shot.frames(24) == 36
    assert shot.frames(23.976) == 36
    assert Shot(hold_seconds=2.0).frames(25) == 50


def test_placements_are_contiguous_with_gaps():
    project = scene()
    project.timeline.entries[1].gap_before = 12
    places = project.placements()
    assert [(p.start, p.end) for p in places] == [(0, 48), (60, 96), (96, 168)]
    assert project.duration_frames() == 168
    assert project.placement_at(50) is None
    assert project.placement_at(60).shot.text == "line 1"


def test_unsupported_fps_is_refused():
    with pytest.raises(ValueError, match="unsupported frame rate"):
        Project(fps=60)


def test_every_edit_reverts_exactly():
    project = scene()
    history = EditHistory(project)
    ids = project.timeline.shot_ids()
    before = copy.deepcopy(project)
    edits = [
        SplitShot(ids[2], frame=project.placements()[2].start + 24, new_shot_id="tail"),
        SetShotFields(ids[0], {"text": "changed", "seed": 4}),
        MoveShot(ids[0], 2),
        trim_shot(project, ids[1], head_frames=6, tail_frames=3),
        RemoveShots([ids[1]], ripple=False),
        AddMarker(Marker(frame=10, name="cut here")),
    ]
    for edit in edits:
        history.push(edit)
    assert project != before
    while history.undo():
        pass
    assert project == before
    while history.redo():
        pass
    assert project.shots[ids[0]].text == "changed"


def test_trim_edits_audio_in_out_and_ripples():
    project = scene()
    ids = project.timeline.shot_ids()
    EditHistory(project).push(trim_shot(project, ids[0], head_frames=12, tail_frames=0))
    shot = project.shots[ids[0]]
    assert shot.audio_in == pytest.approx(0.5)
    assert shot.audio_out == pytest.approx(2.0)
    assert project.placements()[1].start == 36  # the next shot moved up


def test_trim_cannot_extend_past_the_recording():
    project = scene()
    ids = project.timeline.shot_ids()
    EditHistory(project).push(trim_shot(project, ids[0], head_frames=-50, tail_frames=-50))
    shot = project.shots[ids[0]]
    assert shot.audio_in == 0.0 and shot.audio_out == pytest.approx(2.0)


def test_split_divides_the_dialogue_range():
    project = scene()
    ids = project.timeline.shot_ids()
    EditHistory(project).push(SplitShot(ids[2], frame=project.placements()[2].start + 30, new_shot_id="tail"))
    head, tail = project.shots[ids[2]], project.shots["tail"]
    assert head.audio_out == pytest.approx(30 / 24)
    assert tail.audio_in == pytest.approx(30 / 24)
    assert head.frames(24) + tail.frames(24) == 72
    assert project.timeline.shot_ids() == [*ids, "tail"]


def test_ripple_delete_closes_the_gap_and_lift_leaves_one():
    project = scene()
    ids = project.timeline.shot_ids()
    EditHistory(project).push(RemoveShots([ids[1]], ripple=True))
    assert [(p.start, p.end) for p in project.placements()] == [(0, 48), (48, 120)]
    project = scene()
    ids = project.timeline.shot_ids()
    EditHistory(project).push(RemoveShots([ids[1]], ripple=False))
    assert [(p.start, p.end) for p in project.placements()] == [(0, 48), (84, 156)]


def test_typing_merges_into_one_undo_step():
    project = scene()
    sid = project.timeline.shot_ids()[0]
    history = EditHistory(project)
    for text in ("H", "He", "Hel", "Hello"):
        history.push(SetShotFields(sid, {"text": text}))
    history.undo()
    assert project.shots[sid].text == "line 0"


def test_latest_take_prefers_finals():
    shot = Shot()
    shot.takes = [Take("a.mp4", "h1", "sketch", "draft"), Take("b.mp4", "h2", "sketch", "final"),
                  Take("c.mp4", "h3", "sketch", "draft"), Take("d.mp4", "h4", "sketch", "final", status="failed")]
    assert shot.latest_take().file == "b.mp4"
    assert shot.latest_take("draft").file == "c.mp4"


def test_listeners_hear_edits():
    project = scene()
    heard = []
    project.subscribe(lambda kind, subject: heard.append(kind))
    EditHistory(project).push(SetShotFields(project.timeline.shot_ids()[0], {"seed": 3}))
    assert heard == ["shot"]
