"""A length change typed in the Inspector that the cut refuses (a locked track, a clip in the
way) says why and leaves the field showing the shot as it still is, so typing it again works."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.ui.test_sync_edits import _lock, _spans, _type_seconds, reply_over_cut  # noqa: F401 - fixture

pytestmark = pytest.mark.gui


def test_a_pause_refused_on_a_locked_track_shows_the_old_value_again(qtbot, studio, reply_over_cut):  # noqa: F811
    a1, a2, ben = reply_over_cut
    project = studio.document.project
    before = _spans(project)
    _lock(studio, "V1")
    studio.editor.select([a2])
    box = studio.inspector.handle_head
    _type_seconds(studio, box, "0.5")
    assert studio.prompts.errors and _spans(project) == before and project.shots[a2].handle_head == 0.0
    qtbot.waitUntil(lambda: box.value() == 0.0, timeout=2000)  # not the refused 0.5
    _lock_off = studio.timeline.headers
    QTest.mouseClick(_lock_off, Qt.MouseButton.LeftButton, pos=_lock_off.switch_rect("V1", "lock").center().toPoint())
    _type_seconds(studio, box, "0.5")  # the same value once V1 is free: now it ripples
    assert project.shots[a2].handle_head == 0.5 and _spans(project)[ben] == ("V2", 84, 108)




def test_an_out_point_before_the_in_point_is_refused_not_a_one_frame_shot(qtbot, studio, reply_over_cut):  # noqa: F811
    a1, a2, ben = reply_over_cut
    project = studio.document.project
    studio.editor.select([a2])
    _type_seconds(studio, studio.inspector.audio_in, "1.5")  # Ada's second line now plays its last half second
    shot, before = project.shots[a2], _spans(project)
    assert shot.frames(24) == 12
    box = studio.inspector.audio_out
    _type_seconds(studio, box, "1.0")  # before the in point
    assert studio.prompts.errors and "in point" in studio.prompts.errors[-1][1]
    assert (shot.audio_in, shot.audio_out, _spans(project)) == (1.5, None, before)
    qtbot.waitUntil(lambda: box.value() == 2.0, timeout=2000)
    _type_seconds(studio, studio.inspector.audio_in, "2")  # an in point at the end of the recording: refused too
    assert shot.audio_in == 1.5 and studio.inspector.audio_in.value() == 1.5


def test_a_new_recording_chosen_for_a_line_ripples_from_its_end(qtbot, studio, reply_over_cut, make_audio,  # noqa: F811
                                                                 monkeypatch):
    from PySide6.QtWidgets import QFileDialog, QToolButton

    a1, a2, ben = reply_over_cut
    project = studio.document.project
    longer = make_audio("a2_take2.wav", 3.0)  # a new recording of Ada's second line, a second longer
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(longer), ""))
    studio.editor.select([a2])
    browse = next(b for b in studio.inspector.findChildren(QToolButton) if b.toolTip() == "Choose the dialogue recording")
    QTest.mouseClick(browse, Qt.MouseButton.LeftButton)
    # her line still starts where it did, so Ben's reply over it stays put; only what follows her moves
    assert _spans(project) == {a1: ("V1", 0, 48), a2: ("V1", 48, 120), ben: ("V2", 72, 96)}
