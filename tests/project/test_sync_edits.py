"""Sync-locked edits across tracks: V1, V2, two characters' overlapping lines and music.

Each case checks where every clip lands after the edit, that locked tracks never change,
that refused edits leave the project exactly as it was, and that undo restores it.
"""

from __future__ import annotations

import copy

import pytest

from soul_studio.project.cutting import CutError, close_gap, insert, overwrite, roll_edit
from soul_studio.project.edits import EditHistory, SetTrackSwitch
from soul_studio.project.model import Character, MusicClip, Project, Shot, TimelineEntry, dialogue_track
from soul_studio.project.ripple import ripple_delete, ripple_trim

FPS = 24.0


def _shot(sid: str, who: Character, seconds: float) -> Shot:
    return Shot(character_id=who.id, audio=f"media/{sid}.wav", audio_length=seconds, id=sid, name=sid)


def scene(gap: int = 0) -> Project:
    """V1: a [0,48) Ada, b [48,96) Ada; V2: r [72,96) Ben answering over b; music m from 60."""
    ada, ben = Character("Ada", id="ada"), Character("Ben", id="ben")
    project = Project(name="sync", fps=FPS, characters=[ada, ben])
    for shot in (_shot("a", ada, 2.0), _shot("b", ada, 2.0), _shot("r", ben, 1.0)):
        project.shots[shot.id] = shot
    project.timeline.entries = [TimelineEntry("a"), TimelineEntry("b", gap), TimelineEntry("r", 72 + gap, "V2")]
    project.timeline.music.append(MusicClip("media/m.wav", start=60 + gap, length=1.0, id="m"))
    return project


def spans(project: Project) -> dict[str, tuple[str, int, int]]:
    out = {p.shot.id: (p.track, p.start, p.end) for p in project.placements()}
    out.update({m.id: ("M1", m.start, m.start + m.frames(project.fps)) for m in project.timeline.music})
    return out


def lock(project: Project, key: str) -> None:
    SetTrackSwitch(key, "lock", True).apply(project)


def push_and_undo(project: Project, edit, shots: dict | None = None) -> dict[str, tuple[str, int, int]]:  # noqa: ANN001
    """Apply ``edit``, return the spans (and the shots, into ``shots``), check redo, leave it undone."""
    before = copy.deepcopy(project)
    history = EditHistory(project)
    history.push(edit)
    after = spans(project)
    if shots is not None:
        shots.update(copy.deepcopy(project.shots))
    history.undo()
    assert project.shots == before.shots and project.timeline == before.timeline
    history.redo()
    assert spans(project) == after
    history.undo()
    return after


def refused(project: Project, build) -> str:  # noqa: ANN001
    before = copy.deepcopy(project)
    with pytest.raises(CutError) as info:
        build()
    assert project.shots == before.shots and project.timeline == before.timeline
    return str(info.value)


def test_ripple_tail_trim_moves_later_clips_on_every_unlocked_track():
    project = scene()
    got = push_and_undo(project, ripple_trim(project, "a", tail_frames=12))
    assert got == {"a": ("V1", 0, 36), "b": ("V1", 36, 84), "r": ("V2", 60, 84), "m": ("M1", 48, 72)}


def test_ripple_head_trim_keeps_the_reply_on_the_words_it_answers():
    project, shots = scene(), {}
    got = push_and_undo(project, ripple_trim(project, "b", head_frames=12), shots)
    assert got == {"a": ("V1", 0, 48), "b": ("V1", 48, 84), "r": ("V2", 60, 84), "m": ("M1", 48, 72)}
    assert shots["b"].audio_in == pytest.approx(0.5)
    # extending the head past the recording grows a silent handle and pushes the reply later
    got = push_and_undo(project, ripple_trim(project, "b", head_frames=-6), shots)
    assert got["b"] == ("V1", 48, 102) and got["r"] == ("V2", 78, 102) and got["a"] == ("V1", 0, 48)
    assert shots["b"].handle_head == pytest.approx(0.25) and shots["b"].audio_in == 0.0


def test_tail_trim_leaves_what_starts_before_the_edit_point():
    project = scene()
    project.timeline.entries[2].gap_before = 24  # r [24, 48) over a, ending on the cut
    got = push_and_undo(project, ripple_trim(project, "a", tail_frames=12))
    assert got["r"] == ("V2", 24, 48) and got["b"] == ("V1", 36, 84)


@pytest.mark.parametrize("locked", ["V2", dialogue_track("ben")])
def test_locked_tracks_do_not_follow_a_ripple(locked):
    project = scene()
    lock(project, locked)
    got = push_and_undo(project, ripple_trim(project, "a", tail_frames=12))
    assert got["r"] == ("V2", 72, 96) and got["b"] == ("V1", 36, 84) and got["m"] == ("M1", 48, 72)
    lock(project, "M1")
    assert push_and_undo(project, ripple_trim(project, "a", tail_frames=12))["m"] == ("M1", 60, 84)


def test_trimming_a_clip_on_a_locked_track_is_refused():
    project = scene()
    lock(project, dialogue_track("ada"))
    assert "Ada (dialogue) is locked" in refused(project, lambda: ripple_trim(project, "a", tail_frames=12))
    lock(project, "V2")
    assert "V2 is locked" in refused(project, lambda: ripple_trim(project, "r", head_frames=4))


def test_a_locked_clip_on_the_same_track_stays_and_blocks_an_extension():
    project = scene()
    project.shots["b"].character_id = "ben"
    lock(project, dialogue_track("ben"))
    got = push_and_undo(project, ripple_trim(project, "a", tail_frames=12))
    assert got["b"] == ("V1", 48, 96) and got["a"] == ("V1", 0, 36)  # a gap opens before the locked clip
    assert "locked track is in the way" in refused(project, lambda: ripple_trim(project, "a", tail_frames=-6))


def test_shortening_a_reply_over_a_longer_line_asks_to_lock_the_line():
    project = scene()
    # V1: a [0, 96) across r's end, c [96, 120); V2: r [24, 48) over a, then b [48, 96)
    project.shots["c"] = _shot("c", project.characters[0], 1.0)
    project.timeline.entries = [TimelineEntry("a"), TimelineEntry("c"), TimelineEntry("r", 24, "V2"),
                                TimelineEntry("b", 0, "V2")]
    project.shots["a"].audio_length = 4.0
    assert "V1 has a clip across the edit point; lock V1" in refused(
        project, lambda: ripple_trim(project, "r", tail_frames=12))
    lock(project, "V1")
    assert push_and_undo(project, ripple_trim(project, "r", tail_frames=12)) == {
        "a": ("V1", 0, 96), "c": ("V1", 96, 120), "r": ("V2", 24, 36), "b": ("V2", 36, 84), "m": ("M1", 48, 72)}


def test_insert_moves_every_unlocked_track_and_refuses_a_locked_line():
    project = scene()
    new = _shot("n", project.characters[0], 1.0)
    got = push_and_undo(project, insert(project, new, "V1", 48))
    assert got == {"a": ("V1", 0, 48), "n": ("V1", 48, 72), "b": ("V1", 72, 120), "r": ("V2", 96, 120),
                   "m": ("M1", 84, 108)}
    lock(project, "V2")
    got = push_and_undo(project, insert(project, _shot("n2", project.characters[0], 1.0), "V1", 48))
    assert got["r"] == ("V2", 72, 96) and got["b"] == ("V1", 72, 120)
    lock(project, dialogue_track("ben"))
    ben_line = _shot("n3", project.characters[1], 1.0)
    assert "Ben (dialogue) is locked" in refused(project, lambda: insert(project, ben_line, "V1", 0))


def test_overwrite_never_moves_other_tracks():
    project = scene()
    new = _shot("n", project.characters[0], 1.0)
    got = push_and_undo(project, overwrite(project, new, "V1", 40))
    assert got == {"a": ("V1", 0, 40), "n": ("V1", 40, 64), "b": ("V1", 64, 96), "r": ("V2", 72, 96),
                   "m": ("M1", 60, 84)}
    # over a clip whose line is on a locked dialogue track: refused, nothing changes
    lock(project, dialogue_track("ada"))
    ben_line = _shot("n2", project.characters[1], 1.0)
    assert "Ada (dialogue) is locked" in refused(project, lambda: overwrite(project, ben_line, "V1", 40))


def test_roll_moves_only_the_cut_and_refuses_a_locked_neighbour():
    project = scene()
    shots = {}
    got = push_and_undo(project, roll_edit(project, "a", "tail", 6), shots)
    assert got == {"a": ("V1", 0, 54), "b": ("V1", 54, 96), "r": ("V2", 72, 96), "m": ("M1", 60, 84)}
    assert shots["a"].handle_tail == pytest.approx(0.25)  # a's recording ended: a silent tail
    got = push_and_undo(project, roll_edit(project, "b", "head", -12))
    assert got["a"] == ("V1", 0, 36) and got["b"] == ("V1", 36, 96) and got["r"] == ("V2", 72, 96)
    # too far: it stops one frame short of swallowing the neighbour
    got = push_and_undo(project, roll_edit(project, "a", "tail", 500))
    assert got["a"] == ("V1", 0, 95) and got["b"] == ("V1", 95, 96) and got["r"] == ("V2", 72, 96)
    project.shots["b"].character_id = "ben"
    lock(project, dialogue_track("ben"))
    assert "Ben (dialogue) is locked" in refused(project, lambda: roll_edit(project, "a", "tail", 6))
    assert "touch" in refused(project, lambda: roll_edit(project, "r", "tail", 6))


def test_close_gap_closes_every_track_or_says_what_is_in_the_way():
    project = scene(gap=12)  # a [0,48), gap, b [60,108); r [84,108); m from 72
    got = push_and_undo(project, close_gap(project, "V1", 50))
    assert got == {"a": ("V1", 0, 48), "b": ("V1", 48, 96), "r": ("V2", 72, 96), "m": ("M1", 60, 84)}
    project.timeline.entries[2].gap_before = 50  # r [50, 74) plays in the gap
    assert "V2 has a clip in the gap" in refused(project, lambda: close_gap(project, "V1", 50))
    lock(project, "V2")
    got = push_and_undo(project, close_gap(project, "V1", 50))
    assert got["b"] == ("V1", 48, 96) and got["r"] == ("V2", 50, 74)


def test_ripple_delete_closes_time_on_every_free_track():
    project = scene()
    got = push_and_undo(project, ripple_delete(project, ["a"]))
    assert got == {"b": ("V1", 0, 48), "r": ("V2", 24, 48), "m": ("M1", 12, 36)}
    got = push_and_undo(project, ripple_delete(project, ["b", "a"]))
    # a's time closes everywhere; r plays over b, so b's time closes on V1 alone
    assert got == {"r": ("V2", 24, 48), "m": ("M1", 12, 36)}
    lock(project, "V2")
    got = push_and_undo(project, ripple_delete(project, ["a"]))
    assert got["r"] == ("V2", 72, 96) and got["b"] == ("V1", 0, 48)
