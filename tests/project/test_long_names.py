"""Project files named right up to the file system's limit, and untitled projects with odd names.

A file name may be 255 bytes; backups, autosaves, locks, recovery copies and temp files
add up to ~45 bytes to the project's own name, so without care a project that opens fine
can never be saved again, nor its work rescued into a recovery file.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from engine.atomic import NAME_MAX, fit_name, write_atomic
from soul_studio.project import (
    Project,
    ProjectFileError,
    Shot,
    TimelineEntry,
    archive_autosave,
    last_good_backup,
    list_backups,
    load_project,
    save_project,
    write_autosave,
    write_recovery,
)
from soul_studio.project.lock import ProjectLock, lock_path


def _named(folder: Path, stem_bytes: int, letter: str = "é") -> Path:
    """``folder/STEM.soulproj`` whose stem is exactly ``stem_bytes`` bytes (two-byte letters)."""
    stem = letter * (stem_bytes // 2) + "a" * (stem_bytes % 2)
    assert len(stem.encode()) == stem_bytes
    return folder / f"{stem}.soulproj"


def _project(name: str = "x") -> Project:
    project = Project(name=name)
    shot = Shot(None, text="Hello")
    project.shots[shot.id] = shot
    project.timeline.entries.append(TimelineEntry(shot.id))
    return project


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("stem_bytes", [215, 232, NAME_MAX - len(".soulproj")])
def test_a_project_named_up_to_the_limit_saves_again_with_its_own_backups(tmp_path, stem_bytes):
    path = _named(tmp_path, stem_bytes)
    path.write_bytes(b"")  # the name itself is legal here
    path.unlink()
    project = _project()
    for i in range(3):
        project.name = f"take {i}"
        save_project(project, path, keep_backups=5)
    assert load_project(path).name == "take 2"
    backups = list_backups(path)
    assert len(backups) == 2 and all(len(b.name.encode()) <= NAME_MAX for b in backups)
    assert load_project(last_good_backup(path)).name == "take 1"
    # another project with the same long start keeps its own backups
    twin = path.with_name(path.stem[:-1] + ("b" if stem_bytes % 2 else "ee") + ".soulproj")
    save_project(_project(), twin)
    save_project(_project(), twin)
    assert list_backups(path) == backups and len(list_backups(twin)) == 1
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize("stem_bytes", [220, NAME_MAX - len(".soulproj")])
def test_autosave_lock_and_archive_of_a_long_named_project(tmp_path, stem_bytes):
    path = _named(tmp_path, stem_bytes)
    project = _project()
    save_project(project, path)
    auto = write_autosave(project)
    assert auto is not None and auto.exists() and len(auto.name.encode()) <= NAME_MAX
    kept = archive_autosave(path)
    assert kept is not None and load_project(kept).name == "x"
    with ProjectLock(path):
        assert lock_path(path).exists()
    assert not lock_path(path).exists()


@pytest.mark.parametrize("stem_bytes", [216, NAME_MAX - len(".soulproj")])
def test_recovery_copy_of_a_long_named_project_is_written(tmp_path, stem_bytes, read_only):
    folder = tmp_path / "project"
    folder.mkdir()
    path = _named(folder, stem_bytes)
    project = _project()
    save_project(project, path)
    before = _sha(path)
    project.name = "unsaved work"
    beside = write_recovery(project, tmp_path / "data")
    assert beside.parent == folder and load_project(beside).name == "unsaved work"
    read_only(folder)
    elsewhere = write_recovery(project, tmp_path / "data")
    assert elsewhere.parent == tmp_path / "data" and load_project(elsewhere).name == "unsaved work"
    assert len(elsewhere.name.encode()) <= NAME_MAX and elsewhere.name.endswith(".soulproj")
    assert _sha(path) == before


@pytest.mark.parametrize("name", ["Ep. 1/Scene 2", "../../escape", "bad\x00name", "tab\there", "..", ""])
def test_recovery_of_an_untitled_project_with_an_odd_name_stays_in_its_folder(tmp_path, monkeypatch, name):
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    project = _project(name)
    where = write_recovery(project, tmp_path / "data")
    assert where.parent == work, where
    assert sorted(p.name for p in work.iterdir()) == [where.name]  # no stray folders
    assert load_project(where).name == name


def test_fit_name_keeps_short_names_and_cuts_long_ones_at_a_character():
    assert fit_name("demo", 40) == "demo"
    long = "ü" * 200
    cut = fit_name(long, 60)
    assert len(cut.encode()) + 60 <= NAME_MAX and cut.startswith("ü" * 10) and "~" in cut
    cut.encode("utf-8")  # never half a character
    assert fit_name(long, 60) == cut and fit_name(long[:-1] + "u", 60) != cut


def test_temp_file_of_a_long_target_fits(tmp_path):
    target = tmp_path / ("t" * (NAME_MAX - 4) + ".mp4")
    write_atomic(target, b"data", suffix=".partial.mp4")
    assert target.read_bytes() == b"data" and os.listdir(tmp_path) == [target.name]


def test_a_name_longer_than_the_limit_is_a_clear_error_on_save_and_open(tmp_path):
    path = tmp_path / ("a" * 300 + ".soulproj")
    with pytest.raises(ProjectFileError) as info:
        save_project(_project(), path)
    assert "choose a shorter one" in str(info.value) and "disk space" not in str(info.value)
    with pytest.raises(ProjectFileError, match="more than the 255"):
        load_project(path)
    assert os.listdir(tmp_path) == []


def test_render_and_export_of_an_over_long_project_path_say_so(tmp_path, capsys):
    from soul_studio.cli import main

    path = str(tmp_path / ("a" * 300 + ".soulproj"))
    assert main(["render", path, "--quiet"]) == 2
    assert main(["export", path, "-f", "edl", "-o", str(tmp_path / "x.edl")]) == 2
    err = capsys.readouterr().err
    assert err.count("more than the 255") == 2 and "Traceback" not in err
    assert os.listdir(tmp_path) == []
