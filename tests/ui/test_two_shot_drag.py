"""Dragging a two-shot's edge with the mouse trims both lines, as linked clips trim in an NLE."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint

from soul_studio.project.edits import SetShotFields
from tests.ui.test_sync_edits import PPF, _drag, _spans, reply_over_cut  # noqa: F401 - fixture

pytestmark = pytest.mark.gui


def test_dragging_a_two_shots_tail_shortens_it_and_both_lines(qtbot, studio, reply_over_cut):  # noqa: F811
    a1, a2, ben = reply_over_cut
    project = studio.document.project
    other = project.shots[a2]
    studio.document.push(SetShotFields(a1, {"partner_id": project.shots[ben].character_id, "partner_audio": other.audio,
                                            "partner_audio_length": other.audio_length}))  # both lines 2 s
    view = studio.timeline.view
    rect = view.shot_rect(a1)
    _drag(view, QPoint(int(rect.right()) - 2, int(rect.center().y())), -12 * int(PPF))  # 12 frames shorter
    assert _spans(project)[a1] == ("V1", 0, 36) and _spans(project)[a2] == ("V1", 36, 84)
    shot = project.shots[a1]
    assert shot.audio_out == pytest.approx(1.5) and shot.partner_audio_out == pytest.approx(1.5)
    studio.actions["undo"].trigger()
    assert _spans(project)[a1] == ("V1", 0, 48) and shot.partner_audio_out is None
