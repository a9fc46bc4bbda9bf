"""The viewer shows the take's exact frame under the playhead, plays, shuttles and marks in/out."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint

from engine.backends.testing import decode_frame_index, make_frame
from engine.media import VideoWriter
from soul_studio.project.edits import AddTake
from soul_studio.project.model import Take
from tests.ui.conftest import drop_files

pytestmark = pytest.mark.gui


def _image_array(image) -> np.ndarray:
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3)


@pytest.fixture
def shot_with_take(studio, portrait, line_audio):
    drop_files(studio.timeline.view, [portrait, line_audio], QPoint(100, 40))
    project = studio.document.project
    shot = project.timeline_shots()[0]
    takes = project.takes_folder
    takes.mkdir(exist_ok=True)
    path = takes / "coded.mp4"
    with VideoWriter(path, 24.0, 160, 96) as writer:
        for i in range(shot.frames(24.0)):
            writer.write(make_frame(i, 160, 96))
    studio.document.apply_untracked(AddTake(shot.id, Take(project.relative(path), "x" * 64, "test")))
    return shot, path


def test_scrub_shows_exact_take_frame(qtbot, studio, shot_with_take):
    shot, path = shot_with_take
    viewer = studio.viewer
    for frame in (10, 31, 3):
        studio.editor.set_playhead(frame)
        qtbot.waitUntil(lambda f=frame: studio.cache.cached_frame(path, f) is not None, timeout=10_000)
        viewer.show_frame(frame)
        assert decode_frame_index(_image_array(viewer.frame_view.image)) == frame
    assert viewer.timecode.text() == "01:00:00:03"


def test_portrait_shown_where_no_take(qtbot, studio, portrait, line_audio):
    drop_files(studio.timeline.view, [portrait, line_audio], QPoint(100, 40))
    viewer = studio.viewer
    qtbot.waitUntil(lambda: studio.cache.thumbnail(portrait, 720) is not None, timeout=10_000)
    viewer.show_frame(0)
    assert viewer.frame_view.image is not None and viewer.frame_view.badge.startswith("PORTRAIT")


def test_play_shuttle_and_marks(qtbot, studio, shot_with_take):
    viewer = studio.viewer
    studio.actions["play"].trigger()
    assert viewer.playing and viewer.speed == 1.0
    qtbot.waitUntil(lambda: studio.editor.playhead >= 6, timeout=5_000)
    studio.actions["stop"].trigger()
    assert not viewer.playing
    viewer.shuttle(1)
    viewer.shuttle(1)
    assert viewer.speed == 2.0
    viewer.shuttle(-1)
    assert viewer.speed == -1.0
    viewer.shuttle(0)
    studio.editor.set_playhead(5)
    studio.actions["mark_in"].trigger()
    studio.actions["next_frame"].trigger()
    studio.actions["fwd_10"].trigger()
    assert studio.editor.playhead == 16
    studio.actions["mark_out"].trigger()
    assert studio.editor.in_out() == (5, 16)
    studio.actions["end"].trigger()
    assert studio.editor.playhead == studio.document.project.duration_frames()  # after the last frame


def test_full_screen_viewer_mirrors_and_closes(qtbot, studio, shot_with_take):
    studio.actions["fullscreen"].trigger()
    full = studio.viewer._fullscreen
    assert full is not None and full.isVisible()
    studio.editor.set_playhead(2)
    studio.viewer.show_frame(2)
    qtbot.waitUntil(lambda: full.image is not None, timeout=10_000)
    full.escape.emit()
    assert studio.viewer._fullscreen is None
