"""Shots become self-contained jobs; takes are reused or marked stale, never lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from soul_studio.project import Character, Project, Shot, Take, save_project
from soul_studio.project.edits import AddShot, EditHistory, SetShotFields
from soul_studio.render import ShotNotRenderable, job_for_shot, matching_take, render_size, shot_state


@pytest.fixture
def project(tmp_path, make_portrait, make_audio) -> Project:
    make_portrait("ada.png")
    make_audio("line.wav", duration=2.5, bursts=[(0.2, 2.0)])
    p = Project(name="Scene", fps=25, width=1280, height=720)
    p.path = tmp_path / "scene.soulproj"
    ada = Character("Ada", portrait="ada.png", prompt="warm light")
    p.characters.append(ada)
    EditHistory(p).push(AddShot(Shot(character_id=ada.id, text="Hello.", audio="line.wav", audio_in=0.5,
                                     audio_length=2.5, name="sc1-01")))
    save_project(p)
    return p


def test_job_is_absolute_and_self_contained(project: Project):
    shot = project.timeline_shots()[0]
    job = job_for_shot(project, shot, "final")
    assert Path(job.portrait_path).is_absolute() and Path(job.audio_path).is_absolute()
    assert Path(job.output_path).parent == project.takes_folder
    assert job.duration == pytest.approx(2.0) and job.frame_count == 50
    assert (job.width, job.height) == (1280, 720)
    assert job.prompt == "warm light"  # inherited from the character
    assert job.audio_in == 0.5


def test_drafts_are_smaller_and_even(project: Project):
    project.width, project.height = 1918, 1078
    w, h = render_size(project, "draft", "sketch")
    assert w % 2 == 0 and h % 2 == 0 and w < 1918
    assert render_size(project, "final", "soul") == (1280, 704)


def test_edit_makes_take_stale_and_keeps_it(project: Project):
    shot = project.timeline_shots()[0]
    job = job_for_shot(project, shot, "draft")
    Path(job.output_path).parent.mkdir(exist_ok=True)
    Path(job.output_path).write_bytes(b"movie")
    shot.takes.append(Take(project.relative(job.output_path), job.content_hash(), "sketch", "draft"))
    assert shot_state(project, shot) == "draft"
    assert matching_take(project, shot, "draft") is not None
    EditHistory(project).push(SetShotFields(shot.id, {"text": "Hello there."}))
    assert shot_state(project, shot) == "stale"
    assert matching_take(project, shot, "draft") is None
    assert len(shot.takes) == 1


def test_changed_audio_file_content_makes_take_stale(project: Project, make_audio):
    shot = project.timeline_shots()[0]
    job = job_for_shot(project, shot, "draft")
    project.takes_folder.mkdir(exist_ok=True)
    (project.takes_folder / "x.mp4").write_bytes(b"movie")
    shot.takes.append(Take("takes/x.mp4", job.content_hash(), "sketch", "draft"))
    assert shot_state(project, shot) == "draft"
    make_audio("line.wav", duration=2.5, bursts=[(1.0, 2.4)])  # re-recorded line, same name
    assert shot_state(project, shot) == "stale"


@pytest.mark.parametrize("problem", ["no character", "no portrait", "missing portrait", "missing audio", "unsaved"])
def test_unrenderable_shots_say_what_to_fix(project: Project, problem: str):
    shot = project.timeline_shots()[0]
    if problem == "no character":
        shot.character_id = None
    elif problem == "no portrait":
        project.characters[0].portrait = None
    elif problem == "missing portrait":
        project.characters[0].portrait = "gone.png"
    elif problem == "missing audio":
        shot.audio = "gone.wav"
    else:
        project.path = None
    with pytest.raises(ShotNotRenderable) as info:
        job_for_shot(project, shot, "draft")
    assert str(info.value)
