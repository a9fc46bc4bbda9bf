"""Saving and opening .soulproj files: atomic, backed up, recoverable, never destructive."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from soul_studio.project import (
    Character,
    Project,
    ProjectFileError,
    Shot,
    autosave_path,
    has_newer_autosave,
    list_backups,
    load_project,
    save_project,
    write_autosave,
)
from soul_studio.project.edits import AddShot, EditHistory
from soul_studio.project.migrations import SCHEMA_VERSION

FIXTURES = Path(__file__).parent.parent / "fixtures"


def make_project(folder: Path) -> Project:
    (folder / "media").mkdir(parents=True, exist_ok=True)
    project = Project(name="Dock", fps=23.976, width=1920, height=1080)
    project.path = folder / "dock.soulproj"
    ada = Character("Ada", portrait="media/ada.png", prompt="calm")
    project.characters.append(ada)
    EditHistory(project).push(AddShot(Shot(character_id=ada.id, text="Hello.", audio="media/l1.wav", audio_length=2.0)))
    return project


def test_save_and_reopen_is_equal(tmp_path):
    project = make_project(tmp_path)
    path = save_project(project)
    data = json.loads(path.read_text())
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["characters"][0]["portrait"] == "media/ada.png"  # relative
    again = load_project(path)
    assert again == project
    assert again.resolve("media/ada.png") == (tmp_path / "media" / "ada.png").resolve()


def test_save_as_rebases_relative_paths(tmp_path):
    project = make_project(tmp_path / "a")
    save_project(project)
    (tmp_path / "b" / "deep").mkdir(parents=True)
    save_project(project, tmp_path / "b" / "deep" / "copy.soulproj")
    again = load_project(tmp_path / "b" / "deep" / "copy.soulproj")
    assert again.resolve(again.characters[0].portrait) == (tmp_path / "a" / "media" / "ada.png").resolve()


def test_backups_roll(tmp_path):
    project = make_project(tmp_path)
    for i in range(5):
        project.name = f"v{i}"
        save_project(project, keep_backups=3)
    backups = list_backups(project.path)
    assert len(backups) == 3
    assert json.loads(backups[-1].read_text())["name"] == "v3"


def test_killed_save_leaves_previous_file_intact(tmp_path, monkeypatch):
    project = make_project(tmp_path)
    path = save_project(project)
    before = path.read_bytes()
    project.name = "changed"

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        save_project(project)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_full_disk_on_save_is_a_clear_error(tmp_path, monkeypatch):
    project = make_project(tmp_path)
    path = save_project(project)
    before = path.read_bytes()

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(ProjectFileError, match="No space left"):
        save_project(project)
    monkeypatch.undo()
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"schema_version": 1, "name": "x", "shots": [', "corrupt"),
        (b"", "empty"),
        (b"%PDF-1.4\n\xff\xfe binary", "binary"),
        (b"[1, 2, 3]", "not a Soul Studio project"),
        (b'{"schema_version": 99, "name": "future"}', "newer Soul Studio"),
        (b'{"schema_version": 1, "fps": 61}', "invalid"),
        (b'{"schema_version": 1, "timeline": {"entries": [{"shot_id": "ghost"}]}}', "unknown shots"),
    ],
)
def test_bad_files_raise_one_clear_error_and_stay_untouched(tmp_path, content, message):
    path = tmp_path / "bad.soulproj"
    path.write_bytes(content)
    with pytest.raises(ProjectFileError) as info:
        load_project(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)
    assert path.read_bytes() == content


def test_corrupt_file_points_to_last_backup(tmp_path):
    project = make_project(tmp_path)
    save_project(project)
    save_project(project)
    project.path.write_text("{ broken")
    with pytest.raises(ProjectFileError, match=r"\.backups"):
        load_project(project.path)


def test_autosave_recovery(tmp_path):
    project = make_project(tmp_path)
    path = save_project(project)
    assert not has_newer_autosave(path)
    project.shots[project.timeline.shot_ids()[0]].text = "unsaved edit"
    write_autosave(project)
    assert has_newer_autosave(path)
    assert load_project(path).shots[project.timeline.shot_ids()[0]].text == "Hello."
    recovered = load_project(path, from_autosave=True)
    assert recovered.shots[project.timeline.shot_ids()[0]].text == "unsaved edit"
    assert recovered.path == path
    save_project(recovered)
    assert not autosave_path(path).exists()


def test_v0_file_migrates(tmp_path):
    path = tmp_path / "old.soulproj"
    shutil.copy(FIXTURES / "v0_project.soulproj", path)
    original = path.read_bytes()
    project = load_project(path)
    assert project.name == "Harbour Scene" and project.fps == 25.0
    assert (project.width, project.height) == (1920, 1080)
    assert [c.name for c in project.characters] == ["Mara", "Tom"]
    first, second = project.timeline_shots()
    assert first.text == "The boat is late." and first.audio_in == 0.25 and first.audio_out == 2.0 and first.seed == 7
    assert project.character(second.character_id).name == "Tom"
    assert path.read_bytes() == original  # opening never rewrites
