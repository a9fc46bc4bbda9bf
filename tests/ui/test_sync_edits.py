"""Sync lock driven with the mouse and keys: ripples move V2 and the other lines, locks hold, rolls refuse."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from soul_studio.project.cutting import move_to
from soul_studio.project.model import dialogue_track
from tests.ui.test_takes import _drop_shot

pytestmark = pytest.mark.gui
PPF = 4.0


@pytest.fixture
def reply_over_cut(qtbot, studio, make_portrait, make_audio):
    """V1: Ada's two lines [0,48) [48,96); V2: Ben's reply [72,96) over her second line."""
    ada_face = make_portrait("ada.png")
    a1 = _drop_shot(studio, ada_face, make_audio("a1.wav", 2.0))
    a2 = _drop_shot(studio, ada_face, make_audio("a2.wav", 2.0))
    ben = _drop_shot(studio, make_portrait("ben.png"), make_audio("ben.wav", 1.0))
    project = studio.document.project
    studio.document.push(move_to(project, ben, "V2", 72))
    assert project.shots[a1].character_id == project.shots[a2].character_id != project.shots[ben].character_id
    qtbot.wait(20)  # let the first-clips zoom-to-fit run, then zoom in
    studio.timeline.view.set_ppf(PPF)
    return a1, a2, ben


def _spans(project) -> dict[str, tuple[str, int, int]]:
    return {p.shot.id: (p.track, p.start, p.end) for p in project.placements()}


def _drag(view, start: QPoint, dx: int, mods=Qt.KeyboardModifier.NoModifier) -> None:
    QTest.mousePress(view.viewport(), Qt.MouseButton.LeftButton, mods, start)
    QTest.mouseMove(view.viewport(), start + QPoint(dx // 2, 0))
    QTest.mouseMove(view.viewport(), start + QPoint(dx, 0))
    QTest.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, mods, start + QPoint(dx, 0))


def _lock(studio, key: str) -> None:
    headers = studio.timeline.headers
    QTest.mouseClick(headers, Qt.MouseButton.LeftButton, pos=headers.switch_rect(key, "lock").center().toPoint())
    assert studio.document.project.timeline.switches(key).lock


def test_dragging_a_tail_ripples_v2_too_unless_v2_is_locked(qtbot, studio, reply_over_cut):
    a1, a2, ben = reply_over_cut
    project = studio.document.project
    view = studio.timeline.view
    rect = view.shot_rect(a1)
    tail = QPoint(int(rect.right()) - 2, int(rect.center().y()))
    _drag(view, tail, -12 * int(PPF))  # 12 frames shorter
    assert _spans(project) == {a1: ("V1", 0, 36), a2: ("V1", 36, 84), ben: ("V2", 60, 84)}
    studio.actions["undo"].trigger()
    assert _spans(project) == {a1: ("V1", 0, 48), a2: ("V1", 48, 96), ben: ("V2", 72, 96)}

    _lock(studio, "V2")
    rect = view.shot_rect(a2)
    head = QPoint(int(rect.left()) + 2, int(rect.center().y()))
    _drag(view, head, 6 * int(PPF))  # cut 6 frames off the head of Ada's second line
    assert _spans(project) == {a1: ("V1", 0, 48), a2: ("V1", 48, 90), ben: ("V2", 72, 96)}
    assert project.shots[a2].audio_in == pytest.approx(0.25)


def test_q_and_w_ripple_the_reply_on_v2(qtbot, studio, reply_over_cut):
    a1, a2, ben = reply_over_cut
    project = studio.document.project
    view = studio.timeline.view
    studio.editor.select([])
    studio.editor.set_playhead(60)  # inside Ada's second line
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_Q)  # its head off to the playhead: the reply moves 12 frames earlier
    assert _spans(project) == {a1: ("V1", 0, 48), a2: ("V1", 48, 84), ben: ("V2", 60, 84)}
    studio.editor.set_playhead(40)
    QTest.keyClick(view, Qt.Key.Key_W)  # Ada's first line ends at 40: everything after moves up
    assert _spans(project) == {a1: ("V1", 0, 40), a2: ("V1", 40, 76), ben: ("V2", 52, 76)}


def test_alt_drag_roll_refuses_a_neighbour_on_a_locked_line(qtbot, studio, reply_over_cut):
    a1, a2, ben = reply_over_cut
    project = studio.document.project
    view = studio.timeline.view
    project.shots[a2].character_id = project.shots[ben].character_id  # Ben's line follows Ada's on V1
    studio.document.changed.emit("timeline", None)
    _lock(studio, dialogue_track(project.shots[ben].character_id))
    before = _spans(project)
    index = studio.document.undo_stack.index()
    rect = view.shot_rect(a1)
    tail = QPoint(int(rect.right()) - 2, int(rect.center().y()))
    _drag(view, tail, 6 * int(PPF), Qt.KeyboardModifier.AltModifier)
    assert _spans(project) == before and studio.document.undo_stack.index() == index
    assert "Ben" in studio.statusBar().currentMessage() and "locked" in studio.statusBar().currentMessage()
    # E (roll to the playhead) says the same and changes nothing
    studio.editor.set_playhead(52)
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_E)
    assert _spans(project) == before and "locked" in studio.statusBar().currentMessage()


def test_insert_overwrite_and_close_gap_on_locked_or_busy_tracks_say_why(qtbot, studio, reply_over_cut):
    a1, a2, ben = reply_over_cut
    project = studio.document.project
    view = studio.timeline.view
    _lock(studio, "V1")
    before = _spans(project)
    for key in (Qt.Key.Key_Comma, Qt.Key.Key_Period):  # insert / overwrite a copy of Ada's line at 10
        studio.editor.select([a1])
        studio.editor.set_playhead(10)
        view.setFocus()
        QTest.keyClick(view, key)
        assert _spans(project) == before and "V1 is locked" in studio.statusBar().currentMessage()
    studio.actions["undo"].trigger()  # unlock V1
    assert not project.timeline.switches("V1").lock
    # a gap on V1 under Ben's reply: closing it would pull his line off the words it answers
    studio.editor.select([a1])
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_Backspace)  # lift Ada's first line: V1 is empty over [0, 48)
    studio.editor.select([a2])
    studio.editor.set_playhead(20)
    from soul_studio.project.cutting import move_to

    studio.document.push(move_to(project, ben, "V2", 30))  # Ben now plays in that gap
    QTest.keyClick(view, Qt.Key.Key_G, Qt.KeyboardModifier.ShiftModifier)
    assert "V2 has a clip in the gap" in studio.statusBar().currentMessage()
    _lock(studio, "V2")
    QTest.keyClick(view, Qt.Key.Key_G, Qt.KeyboardModifier.ShiftModifier)
    assert _spans(project) == {a2: ("V1", 0, 48), ben: ("V2", 30, 54)}


def test_reordering_cannot_move_a_clip_on_a_locked_line(qtbot, studio, reply_over_cut):
    a1, a2, ben = reply_over_cut
    project = studio.document.project
    view = studio.timeline.view
    project.shots[a2].character_id = project.shots[ben].character_id
    studio.document.changed.emit("timeline", None)
    _lock(studio, dialogue_track(project.shots[ben].character_id))
    before = _spans(project)
    rect_a, rect_b = view.shot_rect(a1), view.shot_rect(a2)
    y = int(rect_a.center().y())
    _drag(view, QPoint(int(rect_a.center().x()), y), int(rect_b.right()) - 5 - int(rect_a.center().x()))
    assert _spans(project) == before and "locked" in studio.statusBar().currentMessage()
    studio.actions["undo"].trigger()  # unlock: now the same drag reorders
    _drag(view, QPoint(int(rect_a.center().x()), y), int(rect_b.right()) - 5 - int(rect_a.center().x()))
    assert [sid for sid, (t, *_) in sorted(_spans(project).items(), key=lambda kv: kv[1][1]) if t == "V1"] == [a2, a1]


def test_media_dropped_between_clips_is_an_insert_that_keeps_v2_in_sync(qtbot, studio, reply_over_cut, make_audio):
    from tests.ui.conftest import drop_files

    a1, a2, ben = reply_over_cut
    project = studio.document.project
    view = studio.timeline.view
    x = int(view.shot_rect(a1).left() + 30 * PPF)  # past the middle of Ada's first line, on the empty V2 row
    drop_files(view, [make_audio("new.wav", 1.0)], QPoint(x, int(view.row_rect("V2").center().y())))
    (new,) = set(project.shots) - {a1, a2, ben}
    assert _spans(project) == {a1: ("V1", 0, 48), new: ("V1", 48, 72), a2: ("V1", 72, 120), ben: ("V2", 96, 120)}
    studio.actions["undo"].trigger()
    assert _spans(project) == {a1: ("V1", 0, 48), a2: ("V1", 48, 96), ben: ("V2", 72, 96)}


def _type_seconds(studio, box, text: str) -> None:
    box.setFocus()
    box.selectAll()
    QTest.keyClicks(box, text)
    QTest.keyClick(box, Qt.Key.Key_Return)


def test_a_pause_typed_in_the_inspector_ripples_v2_and_undo_brings_it_back(qtbot, studio, reply_over_cut):
    a1, a2, ben = reply_over_cut
    project = studio.document.project
    studio.editor.select([a2])
    box = studio.inspector.handle_head
    _type_seconds(studio, box, "0.5")  # half a second before Ada's second line: Ben's reply over it follows
    assert _spans(project) == {a1: ("V1", 0, 48), a2: ("V1", 48, 108), ben: ("V2", 84, 108)}
    QTest.keyClick(box, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo, from the field itself
    assert _spans(project) == {a1: ("V1", 0, 48), a2: ("V1", 48, 96), ben: ("V2", 72, 96)}
    assert project.shots[a2].handle_head == 0.0
    qtbot.waitUntil(lambda: box.value() == 0.0, timeout=2000)  # the Inspector shows the undone value
    # A reaction after her line is added at its end: the reply over her words stays where it is.
    _type_seconds(studio, studio.inspector.handle_tail, "0.5")
    assert _spans(project) == {a1: ("V1", 0, 48), a2: ("V1", 48, 108), ben: ("V2", 72, 96)}
    # With V2 locked a pause before her first line ripples V1 alone.
    QTest.keyClick(box, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    _lock(studio, "V2")
    studio.editor.select([a1])
    _type_seconds(studio, studio.inspector.handle_head, "1")
    spans = _spans(project)
    assert spans[ben] == ("V2", 72, 96) and spans[a1] == ("V1", 0, 72) and spans[a2] == ("V1", 72, 120)


def test_a_ripple_drag_shows_where_the_other_tracks_go_before_release(qtbot, studio, reply_over_cut, tmp_path):
    a1, a2, ben = reply_over_cut
    view = studio.timeline.view
    rect = view.shot_rect(a1)
    tail = QPoint(int(rect.right()) - 2, int(rect.center().y()))
    QTest.mousePress(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, tail)
    QTest.mouseMove(view.viewport(), tail - QPoint(6 * int(PPF), 0))
    QTest.mouseMove(view.viewport(), tail - QPoint(12 * int(PPF), 0))
    assert view.drag is not None and view.drag.followers == {a2: 36, ben: 60}  # V1 and V2 follow, live
    view.viewport().grab().save(str(tmp_path / "ripple_drag.png"))
    QTest.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       tail - QPoint(12 * int(PPF), 0))
    assert _spans(studio.document.project) == {a1: ("V1", 0, 36), a2: ("V1", 36, 84), ben: ("V2", 60, 84)}
    # Alt: a roll moves only the cut, so nothing else is shown moving
    rect = view.shot_rect(a1)
    tail = QPoint(int(rect.right()) - 2, int(rect.center().y()))
    alt = Qt.KeyboardModifier.AltModifier
    QTest.mousePress(view.viewport(), Qt.MouseButton.LeftButton, alt, tail)
    QTest.mouseMove(view.viewport(), tail + QPoint(3 * int(PPF), 0))
    QTest.mouseMove(view.viewport(), tail + QPoint(6 * int(PPF), 0))
    assert view.drag is not None and view.drag.followers == {}
    QTest.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, alt, tail + QPoint(6 * int(PPF), 0))
