"""Where unsaved work goes when the project's folder, and then the data folder, cannot be written.

The message must say where the copy really is: the temporary folder is emptied at a
restart, so work rescued there is said to be at risk, never said to be in the data folder.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from soul_studio.project import Project, ProjectFileError, load_project, save_project
from soul_studio.render.headless import RunSaver
from soul_studio.ui.project_files import autosave_elsewhere, rescue_unsaved


def _saved(folder: Path) -> Project:
    folder.mkdir(parents=True)
    project = Project(name="before")
    save_project(project, folder / "demo.soulproj")
    project.name = "unsaved work"
    return project


def _failure(project: Project) -> ProjectFileError:
    try:
        save_project(project)
    except ProjectFileError as exc:
        return exc
    raise AssertionError("the save should have failed")


def _temp(tmp_path: Path, monkeypatch) -> Path:
    where = tmp_path / "tmp"
    where.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(where))
    return where


def test_run_saver_says_data_folder_only_when_it_is_there(tmp_path, read_only, monkeypatch):
    where = _temp(tmp_path, monkeypatch)
    project = _saved(tmp_path / "project")
    data = tmp_path / "data"
    data.mkdir()
    read_only(tmp_path / "project")
    ok, message = RunSaver(project, recovery_dir=data).finish()
    assert not ok and "in your data folder" in message and str(data) in message
    read_only(data)
    ok, message = RunSaver(project, recovery_dir=data / "recovered").finish()
    assert not ok and "in your data folder" not in message, message
    assert "temporary folder" in message and "copy it somewhere safe" in message and str(where) in message
    kept = list(where.glob("demo.recovered-*.soulproj"))
    assert len(kept) == 1 and load_project(kept[0]).name == "unsaved work"


def test_the_studio_says_the_copy_is_at_risk_in_the_temporary_folder(tmp_path, read_only, monkeypatch):
    temp = _temp(tmp_path, monkeypatch)
    project = _saved(tmp_path / "project")
    data = tmp_path / "data"
    data.mkdir()
    read_only(tmp_path / "project")
    read_only(data)
    failure = _failure(project)
    text = rescue_unsaved(project, failure, data / "recovered")
    assert "temporary folder" in text and "copy it somewhere safe" in text
    where, status = autosave_elsewhere(project, failure, data / "recovered")
    assert where is not None and where.parent == temp and "temporary folder" in status
    assert load_project(where).name == "unsaved work"
