"""The one rule for the take in use, on real files: fresh by the shot's hash now, picked, final over draft."""

from __future__ import annotations

import pytest

from soul_studio.project import Character, Project, Shot, Take, save_project
from soul_studio.project.edits import AddShot, EditHistory, PickTake, SetShotFields, TrashTake
from soul_studio.render.planner import current_hash
from soul_studio.render.split import split_keeping_picture
from soul_studio.render.takes import missing_finals, ranked_fresh_takes, shot_state, shown_take, take_in_use


@pytest.fixture
def project(tmp_path, make_portrait, make_audio) -> Project:
    make_portrait("ada.png")
    make_audio("line.wav", duration=2.0, bursts=[(0.2, 1.8)])
    p = Project(name="Scene", fps=24, width=320, height=180)
    p.path = tmp_path / "scene.soulproj"
    ada = Character("Ada", portrait="ada.png")
    p.characters.append(ada)
    EditHistory(p).push(AddShot(Shot(character_id=ada.id, text="Hi.", audio="line.wav", audio_length=2.0)))
    save_project(p)
    return p


def _take(project: Project, shot: Shot, quality: str, name: str, fresh: bool = True) -> Take:
    project.takes_folder.mkdir(exist_ok=True)
    (project.takes_folder / name).write_bytes(b"movie")
    job_hash = current_hash(project, shot, quality, "sketch") if fresh else "old"
    take = Take(f"takes/{name}", job_hash, "sketch", quality)
    shot.takes.append(take)
    return take


def test_final_over_draft_newest_first_and_stale_never_in_use(project):
    shot = project.timeline_shots()[0]
    old_final = _take(project, shot, "final", "f1.mp4")
    draft = _take(project, shot, "draft", "d1.mp4")
    new_final = _take(project, shot, "final", "f2.mp4")
    stale = _take(project, shot, "final", "f3.mp4", fresh=False)
    assert ranked_fresh_takes(project, shot) == [new_final, old_final, draft]
    assert take_in_use(project, shot) is new_final
    shot.picked_take = stale.id  # a picked stale take is not used
    assert take_in_use(project, shot) is new_final
    shot.picked_take = draft.id
    assert take_in_use(project, shot) is draft
    assert missing_finals(project) == [shot.id]  # the draft is in use


def test_undo_finds_takes_and_stale_is_shown_only_badged(project):
    shot = project.timeline_shots()[0]
    history = EditHistory(project)
    final = _take(project, shot, "final", "f.mp4")
    history.push(SetShotFields(shot.id, {"text": "Hello there."}))
    assert take_in_use(project, shot) is None
    assert shown_take(project, shot) == (final, True) and shot_state(project, shot) == "stale"
    draft = _take(project, shot, "draft", "d.mp4")
    assert take_in_use(project, shot) is draft and shot_state(project, shot) == "draft"
    history.undo()
    assert take_in_use(project, shot) is final and shot_state(project, shot) == "final"
    assert missing_finals(project) == []


def test_pick_and_trash_are_undoable(project):
    shot = project.timeline_shots()[0]
    a = _take(project, shot, "draft", "a.mp4")
    b = _take(project, shot, "draft", "b.mp4")
    history = EditHistory(project)
    history.push(PickTake(shot.id, a.id))
    assert take_in_use(project, shot) is a
    history.push(TrashTake(shot.id, a.id))
    assert not (project.takes_folder / "a.mp4").exists() and (project.trash_folder / "a.mp4").exists()
    assert take_in_use(project, shot) is b and shot.picked_take is None
    history.undo()
    assert (project.takes_folder / "a.mp4").exists() and take_in_use(project, shot) is a


def test_split_carries_fresh_takes_to_both_halves(project):
    shot = project.timeline_shots()[0]
    take = _take(project, shot, "draft", "d.mp4")
    stale = _take(project, shot, "draft", "old.mp4", fresh=False)
    history = EditHistory(project)
    history.push(split_keeping_picture(project, shot.id, 18))
    head, tail = project.timeline_shots()
    assert tail.audio_in == pytest.approx(0.75) and head.audio_out == pytest.approx(0.75)
    assert take_in_use(project, head).offset == 0 and take_in_use(project, tail).offset == 18
    assert take_in_use(project, tail).file == take.file
    assert all(t.file != stale.file for t in tail.takes)
    history.undo()
    assert project.timeline_shots() == [shot] and take_in_use(project, shot) is take


def test_overlapping_tracks_flatten_upper_wins(project):
    from soul_studio.project.model import TimelineEntry

    ada = project.characters[0]
    base = project.timeline_shots()[0]  # 48 frames on V1
    over = Shot(character_id=ada.id, text="Reaction", hold_seconds=1.0, id="over")
    project.shots[over.id] = over
    project.timeline.entries.append(TimelineEntry(over.id, 12, "V2"))
    pieces = [(p.shot.id, p.shown) for p in project.picture_placements()]
    assert pieces == [(base.id, (0, 12)), ("over", (12, 36)), (base.id, (36, 48))]
    assert project.placement_at(20).shot is over and project.duration_frames() == 48


def test_lift_on_v1_leaves_v2_where_it_is(project):
    from soul_studio.project.edits import RemoveShots
    from soul_studio.project.model import TimelineEntry

    ada = project.characters[0]
    first = project.timeline_shots()[0]
    second = Shot(character_id=ada.id, hold_seconds=1.0, id="second")
    over = Shot(character_id=ada.id, hold_seconds=0.5, id="over")
    project.shots.update({second.id: second, over.id: over})
    project.timeline.entries += [TimelineEntry("over", 40, "V2"), TimelineEntry("second")]
    before = {p.shot.id: (p.start, p.end) for p in project.placements()}
    history = EditHistory(project)
    history.push(RemoveShots([first.id], ripple=False))
    after = {p.shot.id: (p.start, p.end) for p in project.placements()}
    assert after == {"over": before["over"], "second": before["second"]}
    history.undo()
    assert {p.shot.id: (p.start, p.end) for p in project.placements()} == before
