"""Saving into a folder that really refuses writes: a clear error, the work kept open and copied, nothing lost."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog

from soul_studio.project import load_project
from tests.ui.test_takes import _drop_shot


def test_save_into_a_read_only_project_folder_keeps_the_work(qtbot, studio, portrait, line_audio, project_path,
                                                              tmp_path, read_only, monkeypatch):
    shot_id = _drop_shot(studio, portrait, line_audio)
    before = project_path.read_bytes()
    read_only(project_path.parent)
    studio.timeline.view.setFocus()
    QTest.keyClick(studio.timeline.view, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)  # Save
    title, message = studio.prompts.errors[-1]
    assert title == "Cannot save the project" and "read-only" in message
    assert studio.document.is_dirty and studio.isWindowModified()
    assert project_path.read_bytes() == before
    assert studio.document.project.path == project_path.resolve()
    # A copy of the unsaved work went to the user's data folder (the project's own cannot be written).
    (copy,) = (tmp_path / "user-data" / "recovered").iterdir()
    assert str(copy) in message
    rescued = load_project(copy)
    assert shot_id in rescued.shots and rescued.resolve(rescued.shots[shot_id].audio) == line_audio.resolve()
    assert rescued.resolve(rescued.characters[-1].portrait) == portrait.resolve()

    # Save As into another read-only folder: refused, and the open project still names its own file.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    read_only(elsewhere)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(elsewhere / "moved.soulproj"), ""))
    QTest.keyClick(studio.timeline.view, Qt.Key.Key_S,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)  # Save As
    title, message = studio.prompts.errors[-1]
    assert title == "Cannot save the project" and "moved.soulproj" in message and "read-only" in message
    project = studio.document.project
    assert project.path == project_path.resolve() and studio.document.is_dirty
    assert project.resolve(project.shots[shot_id].audio) == line_audio.resolve()  # media links not rebased
    assert list(elsewhere.iterdir()) == []
    # Writable again: Ctrl+S saves everything that was kept open.
    read_only.restore(project_path.parent)
    QTest.keyClick(studio.timeline.view, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert not studio.document.is_dirty and not studio.isWindowModified()
    saved = load_project(project_path)
    assert saved.resolve(saved.shots[shot_id].audio) == line_audio.resolve()
