"""Editor habits the studio must not break: keys, trims, wheel, focus, autosave, script preview."""

from __future__ import annotations

import os
import time

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QKeySequence, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from soul_studio.project import load_project, save_project, write_autosave
from soul_studio.project.storage import autosave_path, backup_folder
from tests.ui.test_takes import _drop_shot, _type_line

pytestmark = pytest.mark.gui


def test_no_two_actions_share_a_key(studio):
    owners: dict[str, str] = {}
    for key, action in studio.actions.items():
        for seq in action.shortcuts():
            text = seq.toString(QKeySequence.SequenceFormat.PortableText)
            assert text not in owners, f"{text} is bound to both {owners[text]} and {key}"
            owners[text] = key
    assert owners["Ctrl+Shift+Z"] == "redo" and owners["Ctrl+Y"] == "redo" and owners["Ctrl+Z"] == "undo"


@pytest.mark.parametrize("keys", ["Ctrl+Shift+Z", "Ctrl+Y"])
def test_both_redo_keys_redo(qtbot, studio, portrait, line_audio, keys):
    shot_id = _drop_shot(studio, portrait, line_audio)
    studio.timeline.view.setFocus()
    QTest.keyClick(studio.timeline.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert shot_id not in studio.document.project.shots
    mods = Qt.KeyboardModifier.ControlModifier
    key = Qt.Key.Key_Y
    if keys == "Ctrl+Shift+Z":
        mods |= Qt.KeyboardModifier.ShiftModifier
        key = Qt.Key.Key_Z
    QTest.keyClick(studio.timeline.view, key, mods)
    assert shot_id in studio.document.project.shots


def test_head_of_a_clip_right_after_another_trims_that_clip(qtbot, studio, portrait, make_audio):
    a = _drop_shot(studio, portrait, make_audio("a.wav", 2.0))
    b = _drop_shot(studio, portrait, make_audio("b.wav", 2.0))
    project = studio.document.project
    view = studio.timeline.view
    view.set_ppf(4.0)
    first, second = project.placements()
    assert first.end == second.start  # back to back
    rect = view.shot_rect(b)
    inside_head = QPoint(int(rect.left()) + 3, int(rect.center().y()))
    assert view.hit(QPointF(inside_head)) == ("head", b)
    assert view.hit(QPointF(inside_head.x() - 6, inside_head.y())) == ("tail", a)
    QTest.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=inside_head)
    QTest.mouseMove(view.viewport(), inside_head + QPoint(20, 0))
    QTest.mouseMove(view.viewport(), inside_head + QPoint(40, 0))
    QTest.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=inside_head + QPoint(40, 0))
    assert project.shots[b].audio_in == pytest.approx(10 / 24, abs=1e-3)  # 40 px at 4 px per frame
    assert project.shots[a].audio_out is None  # the clip before is untouched


def test_wheel_over_an_unfocused_field_does_not_change_it(qtbot, studio, portrait, line_audio):
    shot_id = _drop_shot(studio, portrait, line_audio)
    studio.editor.select([shot_id])
    seed = studio.inspector.seed
    studio.timeline.view.setFocus()
    assert not seed.hasFocus()

    def wheel() -> None:
        centre = QPointF(seed.rect().center())
        event = QWheelEvent(centre, QPointF(seed.mapToGlobal(centre.toPoint())), QPoint(0, 0), QPoint(0, 120),
                            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
                            False)
        QApplication.sendEvent(seed, event)

    wheel()
    assert seed.value() == 0 and studio.document.project.shots[shot_id].seed == 0
    QTest.mouseClick(seed, Qt.MouseButton.LeftButton)  # clicked into: now the wheel is meant for it
    qtbot.waitUntil(seed.hasFocus, timeout=2000)
    wheel()
    assert studio.document.project.shots[shot_id].seed == 1


def test_tab_in_the_line_field_moves_focus(qtbot, studio, portrait, line_audio):
    shot_id = _drop_shot(studio, portrait, line_audio)
    _type_line(qtbot, studio, shot_id, "Hi")
    QTest.keyClick(studio.inspector.text, Qt.Key.Key_Tab)
    assert studio.document.project.shots[shot_id].text == "Hi"
    assert studio.inspector.prompt.hasFocus()


def test_quit_discard_removes_the_autosave(qtbot, studio, portrait, line_audio):
    _drop_shot(studio, portrait, line_audio)
    path = studio.document.project.path
    assert studio.autosave() == autosave_path(path) and autosave_path(path).exists()
    studio.prompts.save_answer = "discard"
    studio.timeline.view.setFocus()
    QTest.keyClick(studio.timeline.view, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert not studio.isVisible()
    assert not autosave_path(path).exists()


def test_declining_recovery_keeps_the_autosave_in_backups(qtbot, studio, project_path):
    project = load_project(project_path)
    project.name = "Autosaved edit"
    write_autosave(project)
    later = time.time() + 5
    os.utime(autosave_path(project_path), (later, later))
    studio.prompts.recover = False
    assert studio.open_project(project_path, confirm=False)
    assert studio.document.project.name == "Test Scene"
    assert not autosave_path(project_path).exists()
    kept = [p for p in backup_folder(project_path).iterdir() if ".autosave-" in p.name]
    assert len(kept) == 1 and "Autosaved edit" in kept[0].read_text()
    assert str(kept[0]) in studio.statusBar().currentMessage()
    assert kept[0].suffix == ".soulproj" and load_project(kept[0]).name == "Autosaved edit"  # opens as a project
    save_project(studio.document.project)  # a later save's backup rotation leaves it alone
    assert kept[0].exists()


def test_enter_in_import_script_path_previews_instead_of_importing(qtbot, tmp_path):
    from soul_studio.ui.script_import_dialog import ScriptImportDialog

    script = tmp_path / "scene.fountain"
    script.write_text("INT. KITCHEN - DAY\n\nADA\nWhere were you?\n\nBEN\nOut.\n", encoding="utf-8")
    dialog = ScriptImportDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.path_edit.setFocus()
    QTest.keyClicks(dialog.path_edit, str(script))
    QTest.keyClick(dialog.path_edit, Qt.Key.Key_Return)
    assert dialog.isVisible() and dialog.result() == 0  # still open: nothing imported yet
    assert dialog.preview.topLevelItemCount() == 2  # the lines are previewed
    QTest.keyClick(dialog.scene_list, Qt.Key.Key_Return)  # Enter again, on the preview: import
    assert dialog.result() == 1
    assert dialog.choice() is not None


def test_end_lands_after_the_last_frame(qtbot, studio, portrait, line_audio):
    _drop_shot(studio, portrait, line_audio)
    studio.timeline.view.setFocus()
    QTest.keyClick(studio.timeline.view, Qt.Key.Key_End)
    assert studio.editor.playhead == studio.document.project.duration_frames()
    QTest.keyClick(studio.timeline.view, Qt.Key.Key_Home)
    assert studio.editor.playhead == 0


