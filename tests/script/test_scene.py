"""Scene → cast and shots: order, text, prompt hints, cast reuse, portraits, one-step undo."""

from __future__ import annotations

from pathlib import Path

import pytest

from soul_studio.project import Character, Project, Shot, load_project, save_project
from soul_studio.project.edits import AddShot, EditHistory
from soul_studio.project.serialize import project_to_dict
from soul_studio.script import ImportChoiceError, ImportOptions, build_scene, parse_fountain

SCRIPT = """\
INT. KITCHEN - MORNING

Steam rises from a kettle. ADA reads the paper.

ADA
(without looking up)
You are late.

BEN (O.S.)
The bus broke down.

BEN enters, dripping.

BEN (CONT'D)
Again.

MARÍA ^
Again!

INT. HALL - LATER

The clock ticks.
"""


@pytest.fixture
def scene():
    return parse_fountain(SCRIPT, "kitchen.fountain").scene(1)


def test_one_shot_per_speech_in_order(scene):
    project = Project(name="t")
    group = build_scene(project, scene)
    assert project_to_dict(project) == project_to_dict(Project(name="t", created=project.created))  # untouched
    EditHistory(project).push(group)
    shots = project.timeline_shots()
    assert [s.text for s in shots] == ["You are late.", "The bus broke down.", "Again.", "Again!"]
    names = [project.character(s.character_id).name for s in shots]
    assert names == ["Ada", "Ben", "Ben", "María"]
    assert [c.name for c in project.characters] == ["Ada", "Ben", "María"]
    assert shots[0].prompt == "Steam rises from a kettle. ADA reads the paper. (without looking up)"
    assert shots[1].prompt == ""  # nothing between the two speeches
    assert shots[2].prompt == "BEN enters, dripping."
    assert "O.S." in shots[1].notes and "dual dialogue" in shots[3].notes
    assert shots[0].name == "1-01 Ada"
    # silent shots hold for about as long as the line takes to say
    assert shots[0].hold_seconds < shots[1].hold_seconds
    assert len({c.colour for c in project.characters}) == 3
    assert len({c.voice.voice for c in project.characters}) == 3


def test_existing_cast_is_reused_and_portraits_are_shared(scene, tmp_path: Path):
    project = Project(name="t")
    project.path = tmp_path / "p.soulproj"
    ada = Character(name="ADA", portrait=None)
    project.characters.append(ada)
    old = Shot(character_id=ada.id, text="Earlier line.")
    AddShot(old).apply(project)
    portrait = tmp_path / "faces" / "ben.png"
    portrait.parent.mkdir()
    portrait.write_bytes(b"png")
    ada_face = tmp_path / "ada.png"
    ada_face.write_bytes(b"png")
    history = EditHistory(project)
    before = project_to_dict(project)
    history.push(build_scene(project, scene, ImportOptions(portraits={"BEN (O.S.)": portrait, "ada": ada_face})))
    assert [c.name for c in project.characters] == ["ADA", "Ben", "María"]  # Ada reused, not duplicated
    assert ada.portrait == "ada.png"
    ben = project.character_by_name("Ben")
    assert ben.portrait == "faces/ben.png"  # relative to the project
    shots = project.timeline_shots()
    assert shots[0] is old
    assert [s.character_id for s in shots[1:]] == [ada.id, ben.id, ben.id, project.character_by_name("maría").id]
    save_project(project)
    loaded = load_project(project.path)
    assert project_to_dict(loaded) == project_to_dict(project)
    # the whole import is one undo step that restores the project exactly
    assert history.undo()
    assert project_to_dict(project) == before
    assert history.redo()
    assert len(project.timeline_shots()) == 5


def test_empty_scene_and_unknown_names_are_refused(scene):
    project = Project(name="t")
    play = parse_fountain(SCRIPT)
    with pytest.raises(ImportChoiceError, match="has no dialogue"):
        build_scene(project, play.scene(2))
    with pytest.raises(ImportChoiceError, match="'Zed', who does not speak in this scene"):
        build_scene(project, scene, ImportOptions(portraits={"Zed": "zed.png"}))


def test_insert_position(scene):
    project = Project(name="t")
    first = Shot(text="a")
    last = Shot(text="z")
    AddShot(first).apply(project)
    AddShot(last).apply(project)
    EditHistory(project).push(build_scene(project, scene, ImportOptions(insert_at=1)))
    texts = [s.text for s in project.timeline_shots()]
    assert texts == ["a", "You are late.", "The bus broke down.", "Again.", "Again!", "z"]


def test_failed_group_leaves_the_project_as_it_was(scene):
    from soul_studio.project.edits import SetShotFields

    project = Project(name="t")
    group = build_scene(project, scene)
    group.edits.append(SetShotFields("no-such-shot", {"text": "x"}))
    before = project_to_dict(project)
    with pytest.raises(KeyError):
        group.apply(project)
    assert project_to_dict(project) == before
