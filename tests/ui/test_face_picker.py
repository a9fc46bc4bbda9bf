"""Cast panel face picker: click the face that speaks in a group photo; undo; saved with the project."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

import engine.media.samples as samples
from engine.media import save_image
from soul_studio.project import load_project
from soul_studio.render.planner import job_for_shot
from tests.ui.conftest import drop_files

pytestmark = pytest.mark.gui


def test_clicking_a_face_makes_it_speak_and_undo_restores(qtbot, studio, tmp_path, line_audio):
    group = tmp_path / "media" / "group.png"
    group.parent.mkdir(exist_ok=True)
    save_image(group, samples.group_photo([samples.astronaut(), samples.grace_hopper()], height=300))
    drop_files(studio.timeline.view, [group, line_audio], QPoint(100, 40))
    cast = studio.cast
    picker = cast.face_picker
    qtbot.waitUntil(lambda: len(picker.faces) == 2, timeout=30_000)
    c = studio.document.project.characters[0]
    assert c.face_index is None and "of 2 speaks (automatic)" in cast.face_caption.text()
    # Faces are numbered left to right: the right one is Grace Hopper's.
    right = picker.face_rect(1).center().toPoint()
    assert picker.face_rect(0).center().x() < right.x()
    QTest.mouseClick(picker, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, right)
    assert c.face_index == 1 and picker.speaking == 1
    assert "face 2 of 2 speaks (chosen)" in cast.face_caption.text()
    shot = studio.document.project.timeline_shots()[0]
    assert job_for_shot(studio.document.project, shot, "draft", "sketch").options["face_index"] == 1
    # Saved into the project file and read back.
    assert studio.save()
    reopened = load_project(studio.document.project.path)
    assert reopened.characters[0].face_index == 1
    studio.document.undo_stack.undo()
    assert c.face_index is None
    QTest.mouseClick(picker, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     picker.face_rect(0).center().toPoint())
    assert c.face_index == 0
    cast.face_auto.click()
    assert c.face_index is None
