"""Edit commands from the keyboard: new shots, insert/overwrite/append, close gap, ripple and roll, handles."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from soul_studio.render.takes import take_in_use
from tests.ui.fake_takes import add_take
from tests.ui.test_takes import _drop_shot

pytestmark = pytest.mark.gui
CTRL_ALT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier


def _key(studio, key, mods=Qt.KeyboardModifier.NoModifier) -> None:
    view = studio.timeline.view
    view.setFocus()
    QTest.keyClick(view, key, mods)


def _spans(project) -> list[tuple[str, str, int, int]]:
    return [(p.shot.id, p.track, p.start, p.end) for p in project.placements()]


def test_new_shot_for_character_from_audio_and_from_a_line(qtbot, studio, portrait, make_audio):
    a = _drop_shot(studio, portrait, make_audio("a.wav", 1.0))
    project = studio.document.project
    ada = project.shots[a].character_id
    studio.editor.select([a])
    studio.editor.set_playhead(5)  # inside shot a: the new shot goes after it
    _key(studio, Qt.Key.Key_N, CTRL_ALT)
    new = studio.editor.current_shot
    assert new != a and project.shots[new].character_id == ada and not project.shots[new].audio
    assert [p.shot.id for p in project.placements()] == [a, new]
    studio.commands.ask_audio = lambda: str(make_audio("b.wav", 1.5))
    _key(studio, Qt.Key.Key_A, CTRL_ALT)
    from_audio = project.shots[studio.editor.current_shot]
    assert from_audio.audio and from_audio.frames(24.0) == 36 and from_audio.character_id == ada
    studio.commands.ask_line = lambda: "BEN: Out. Just out."
    _key(studio, Qt.Key.Key_L, CTRL_ALT)
    line = project.shots[studio.editor.current_shot]
    assert line.text == "Out. Just out." and project.character(line.character_id).name == "Ben"
    from soul_studio.script import espeak_available

    if espeak_available():  # the line is spoken by a temp voice (marked temp for delivery warnings)
        assert line.temp_audio and line.audio and 0.5 < line.duration < 4.0
    index = studio.document.undo_stack.index()
    studio.actions["undo"].trigger()
    studio.actions["undo"].trigger()  # the shot, then the new character
    assert studio.document.undo_stack.index() == index - 2 and project.character_by_name("Ben") is None


def test_insert_overwrite_append_and_close_gap(qtbot, studio, portrait, make_audio):
    a = _drop_shot(studio, portrait, make_audio("a.wav", 2.0))  # 48 frames
    b = _drop_shot(studio, portrait, make_audio("b.wav", 1.0))  # 24 frames
    project = studio.document.project
    add_take(studio, a, "draft", 90)
    studio.editor.select([b])
    studio.editor.set_playhead(20)
    _key(studio, Qt.Key.Key_Comma)  # insert a copy of b at 20: a is split, both halves keep the picture
    spans = _spans(project)
    assert [(s, e) for _, _, s, e in spans] == [(0, 20), (20, 44), (44, 72), (72, 96)]
    head, copy, tail, last = (project.shots[sid] for sid, *_ in spans)
    assert head.id == a and last.id == b and copy.id not in (a, b)
    assert take_in_use(project, tail) is not None and take_in_use(project, tail).offset == 20
    studio.actions["undo"].trigger()
    assert [(s, e) for *_, s, e in _spans(project)] == [(0, 48), (48, 72)]

    studio.editor.select([b])
    studio.editor.set_playhead(30)
    _key(studio, Qt.Key.Key_Period)  # overwrite 24 frames from 30: a keeps 0-30, b moves nowhere
    spans = _spans(project)
    assert [(s, e) for *_, s, e in spans] == [(0, 30), (30, 54), (54, 72)]
    rest = project.shots[spans[2][0]]  # what is left of b: its line from 6 frames in
    assert rest.audio.endswith("b.wav") and rest.audio_in == pytest.approx(6 / 24)
    assert project.duration_frames() == 72  # overwrite never changes the length
    studio.actions["undo"].trigger()

    studio.editor.select([b])
    _key(studio, Qt.Key.Key_End, CTRL_ALT)  # append
    assert [(s, e) for *_, s, e in _spans(project)] == [(0, 48), (48, 72), (72, 96)]
    studio.actions["undo"].trigger()

    # lift b (Backspace leaves a gap), then close the gap at the playhead (Shift+G)
    studio.editor.select([b])
    _drop_shot(studio, portrait, make_audio("c.wav", 1.0))
    studio.editor.select([b])
    _key(studio, Qt.Key.Key_Backspace)
    assert [(s, e) for *_, s, e in _spans(project)] == [(0, 48), (72, 96)]
    studio.editor.select([])
    studio.editor.set_playhead(60)
    _key(studio, Qt.Key.Key_G, Qt.KeyboardModifier.ShiftModifier)
    assert [(s, e) for *_, s, e in _spans(project)] == [(0, 48), (48, 72)]


def test_ripple_trims_to_playhead_and_roll(qtbot, studio, portrait, make_audio):
    a = _drop_shot(studio, portrait, make_audio("a.wav", 2.0))
    b = _drop_shot(studio, portrait, make_audio("b.wav", 2.0))
    project = studio.document.project
    studio.editor.select([])
    studio.editor.set_playhead(60)  # inside b
    _key(studio, Qt.Key.Key_Q)  # ripple trim b's start to the playhead
    assert project.shots[b].audio_in == pytest.approx(0.5) and _spans(project)[1][2:] == (48, 84)
    studio.editor.set_playhead(40)
    _key(studio, Qt.Key.Key_W)  # ripple trim a's end to the playhead: b moves up
    assert _spans(project)[0][2:] == (0, 40) and _spans(project)[1][2:] == (40, 76)
    studio.editor.set_playhead(44)
    _key(studio, Qt.Key.Key_E)  # roll the cut to 44: a grows, b shrinks, nothing moves
    assert [(s, e) for *_, s, e in _spans(project)] == [(0, 44), (44, 76)]
    assert project.shots[a].audio_out == pytest.approx(44 / 24) and project.shots[b].audio_in == pytest.approx(
        0.5 + 4 / 24)
    studio.actions["undo"].trigger()
    assert [(s, e) for *_, s, e in _spans(project)] == [(0, 40), (40, 76)]


def test_alt_drag_on_a_cut_rolls_it(qtbot, studio, portrait, make_audio):
    a = _drop_shot(studio, portrait, make_audio("a.wav", 2.0, bursts=[(0.1, 1.0)]))
    b = _drop_shot(studio, portrait, make_audio("b.wav", 2.0))
    project = studio.document.project
    studio.timeline.view.set_ppf(4.0)
    view = studio.timeline.view
    from soul_studio.project.edits import trim_shot

    studio.document.push(trim_shot(project, a, tail_frames=12))  # a: 0-36, b: 36-84
    rect = view.shot_rect(b)
    start = QPoint(int(rect.left()) + 2, int(rect.center().y()))
    alt = Qt.KeyboardModifier.AltModifier
    QTest.mousePress(view.viewport(), Qt.MouseButton.LeftButton, alt, start)
    QTest.mouseMove(view.viewport(), start - QPoint(12, 0))
    QTest.mouseMove(view.viewport(), start - QPoint(24, 0))
    QTest.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, alt, start - QPoint(24, 0))
    assert [(s, e) for *_, s, e in _spans(project)] == [(0, 30), (30, 84)]  # the cut rolled 6 frames earlier


def test_dragging_past_the_recording_grows_silent_handles(qtbot, studio, portrait, make_audio):
    a = _drop_shot(studio, portrait, make_audio("a.wav", 1.0))
    project = studio.document.project
    view = studio.timeline.view
    view.set_ppf(4.0)
    rect = view.shot_rect(a)
    grab = QPoint(int(rect.right()) - 2, int(rect.center().y()))
    QTest.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=grab)
    QTest.mouseMove(view.viewport(), grab + QPoint(24, 0))
    QTest.mouseMove(view.viewport(), grab + QPoint(48, 0))
    QTest.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=grab + QPoint(48, 0))
    shot = project.shots[a]
    assert shot.handle_tail == pytest.approx(0.5) and shot.frames(24.0) == 36  # a 12-frame reaction
    # the Inspector shows it, and typing a pause before the line adds a head handle
    studio.editor.select([a])
    assert studio.inspector.handle_tail.value() == pytest.approx(0.5)
    box = studio.inspector.handle_head
    box.setFocus()
    box.selectAll()
    QTest.keyClicks(box, "0.25")
    QTest.keyClick(box, Qt.Key.Key_Return)
    assert shot.handle_head == pytest.approx(0.25) and shot.frames(24.0) == 42
    from soul_studio.render.planner import job_for_shot
    from tests.ui.fake_takes import take_rgb
    from tests.ui.test_takes import _viewer_rgb

    job = job_for_shot(project, shot, "draft")
    assert job.duration == pytest.approx(1.75) and job.lead_in == pytest.approx(0.25)  # the pause is rendered
    # the viewer plays the take through the pause: frame 3 of the shot is frame 3 of the take, not a held first
    add_take(studio, a, "draft", 200)
    start = next(p.start for p in project.placements() if p.shot.id == a)
    assert studio.viewer.source_at(start + 3)[2] == 3
    green = _viewer_rgb(qtbot, studio, start + 3)[1]
    assert abs(green - take_rgb(200, 3)[1]) < 6
