"""The Inspector's Two-Shot box, driven with real keys and clicks: a second character, their line, the faces."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from soul_studio.project import Character, Project, Shot, save_project
from soul_studio.project.edits import AddShot, EditHistory

pytestmark = pytest.mark.gui


@pytest.fixture
def setup(qtbot, tmp_path, make_audio):
    from skimage import data

    from engine.media import save_image
    from soul_studio.ui.document import Document
    from soul_studio.ui.inspector import Inspector
    from soul_studio.ui.state import EditorState

    face = data.astronaut()
    save_image(tmp_path / "both.png", np.concatenate([face, face[:, ::-1]], axis=1))
    save_image(tmp_path / "ada.png", face)
    make_audio("line.wav", duration=2.0, bursts=[(0.2, 1.8)])
    make_audio("reply.wav", duration=3.5, bursts=[(0.3, 3.2)])
    project = Project(name="Scene", fps=24.0, width=640, height=360)
    ada, bo = Character("Ada", portrait="ada.png"), Character("Bo")
    project.characters += [ada, bo]
    EditHistory(project).push(AddShot(Shot(character_id=ada.id, audio="line.wav", audio_length=2.0)))
    save_project(project, tmp_path / "scene.soulproj")
    document = Document(project)
    editor = EditorState()
    inspector = Inspector(document, editor)
    qtbot.addWidget(inspector)
    inspector.show()
    shot = project.timeline_shots()[0]
    editor.select([shot.id])
    yield inspector, document, shot, bo, tmp_path
    inspector.close()
    document.undo_stack.cleanChanged.disconnect()  # the stack goes before its document at exit
    document.close()


def test_choose_partner_line_and_picture_then_undo(setup, qtbot):
    inspector, document, shot, bo, folder = setup
    box = inspector.two_shot
    assert not box.audio_button.isEnabled()
    assert [box.partner.itemText(i) for i in range(box.partner.count())] == ["— nobody (one speaker) —", "Bo"]
    box.partner.setFocus()
    qtbot.keyClick(box.partner, Qt.Key.Key_Down)  # picks Bo
    assert shot.partner_id == bo.id
    assert document.undo_stack.undoText() == "Make Two-Shot"
    assert box.audio_button.isEnabled() and box.audio_label.text() == "listens (no line)"

    box.set_partner_audio(folder / "reply.wav")
    assert shot.partner_audio == "reply.wav" and shot.partner_audio_length == pytest.approx(3.5, abs=0.01)
    assert "3.5" in inspector.length.text()  # the longer line sets the shot's length
    box.set_picture(folder / "both.png")  # finds the two faces at once
    assert shot.two_shot_image == "both.png"
    left, right = shot.speaker_boxes
    assert left[2] <= 0.5 <= right[0]
    assert box.faces_label.text().startswith("Ada: x 0.")

    qtbot.mouseClick(box.left, Qt.MouseButton.LeftButton)
    assert shot.partner_left and box.faces_label.text().startswith("Bo: x 0.")
    box.audio_in.setValue(0.25)
    assert shot.partner_audio_in == pytest.approx(0.25)

    box.partner.setFocus()
    qtbot.keyClick(box.partner, Qt.Key.Key_Up)  # back to one speaker: every partner field cleared in one step
    assert shot.partner_id is None and shot.partner_audio is None and shot.speaker_boxes is None
    assert document.undo_stack.undoText() == "Make Single Shot"
    document.undo_stack.undo()
    assert shot.partner_id == bo.id and shot.partner_audio == "reply.wav" and shot.partner_left
    for _ in range(6):
        document.undo_stack.undo()
    assert not shot.is_two_shot and shot.partner_audio is None


def test_find_faces_on_a_one_person_portrait_uses_the_halves(setup, qtbot):
    inspector, document, shot, bo, folder = setup
    box = inspector.two_shot
    box.partner.setFocus()
    qtbot.keyClick(box.partner, Qt.Key.Key_Down)
    qtbot.mouseClick(box.find_button, Qt.MouseButton.LeftButton)  # the first character's portrait: one face
    assert shot.speaker_boxes == [[0.025, 0.05, 0.475, 0.95], [0.525, 0.05, 0.975, 0.95]]
    assert "found 1 face(s)" in box.faces_label.text()


def test_unreadable_line_is_reported_and_changes_nothing(setup, qtbot):
    inspector, document, shot, bo, folder = setup
    box = inspector.two_shot
    box.partner.setFocus()
    qtbot.keyClick(box.partner, Qt.Key.Key_Down)
    bad = folder / "noise.wav"
    bad.write_bytes(b"not audio")
    with qtbot.waitSignal(inspector.error) as blocker:
        box.set_partner_audio(bad)
    assert blocker.args[0] == "Cannot use this audio"
    assert shot.partner_audio is None
