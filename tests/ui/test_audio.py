"""Sound while scrubbing, stepping and shuttling (J/K/L at every speed), and the dBFS meters.

There is no audio device here, so the tests check the buffers the viewer sends to its sink.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from soul_studio.ui import playback_audio
from tests.ui.test_takes import _drop_shot

pytestmark = pytest.mark.gui
RATE = 48_000


def _pitch(samples: np.ndarray) -> float:
    """Dominant frequency of a mono float signal (FFT peak)."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * RATE / len(samples))


@pytest.fixture
def tone_shot(qtbot, studio, portrait, make_audio):
    shot_id = _drop_shot(studio, portrait, make_audio("tone.wav", 4.0, bursts=[(0.0, 4.0)]))
    path = studio.document.project.resolve(studio.document.project.shots[shot_id].audio)
    studio.cache.audio(path)
    qtbot.waitUntil(lambda: studio.cache.audio(path) is not None, timeout=10_000)
    return shot_id


def test_jkl_play_varispeed_audio_at_every_speed(qtbot, studio, tone_shot):
    viewer = studio.viewer
    view = studio.timeline.view
    studio.editor.set_playhead(48)
    view.setFocus()
    base = None
    for presses, speed in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0)):
        QTest.keyClick(view, Qt.Key.Key_K)
        studio.editor.set_playhead(48)
        for _ in range(presses):
            QTest.keyClick(view, Qt.Key.Key_L)
        assert viewer.speed == speed
        audio = viewer.last_audio
        remaining = 4.0 - 2.0
        assert len(audio) == pytest.approx(remaining * RATE / speed, rel=0.01)  # 2 s of timeline, faster
        f = _pitch(audio[: RATE // 4, 0] if len(audio) >= RATE // 4 else audio[:, 0])
        base = base or f
        assert f == pytest.approx(base * speed, rel=0.06)  # an octave up per doubling, as on a deck
    QTest.keyClick(view, Qt.Key.Key_K)
    studio.editor.set_playhead(48)
    for presses, speed in ((1, 0.5), (2, 0.25)):  # Shift+L: slow motion, the sound slowed down with it
        for _ in range(presses):
            QTest.keyClick(view, Qt.Key.Key_L, Qt.KeyboardModifier.ShiftModifier)
        assert viewer.speed == speed
        assert _pitch(viewer.last_audio[: RATE // 2, 0]) == pytest.approx(base * speed, rel=0.08)
        QTest.keyClick(view, Qt.Key.Key_K)
        studio.editor.set_playhead(48)
    assert viewer.speed == 0
    studio.editor.set_playhead(72)
    QTest.keyClick(view, Qt.Key.Key_J)
    QTest.keyClick(view, Qt.Key.Key_J)
    assert viewer.speed == -2.0
    backwards = viewer.last_audio
    assert len(backwards) == pytest.approx(3.0 * RATE / 2, rel=0.01)  # the 3 s before the playhead
    forwards = playback_audio.mix(studio.document.project, studio.cache, 0, 3.0)
    assert np.allclose(backwards[:, 0], playback_audio.at_speed(forwards, 2.0)[::-1][:, 0], atol=1e-4)
    QTest.keyClick(view, Qt.Key.Key_K)


def test_scrub_and_frame_steps_play_one_frame_of_sound(qtbot, studio, tone_shot):
    viewer = studio.viewer
    view = studio.timeline.view
    studio.editor.set_playhead(10)
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_Right)
    assert studio.editor.playhead == 11
    snippet = viewer.last_audio
    assert len(snippet) == RATE // 24  # one frame
    assert np.abs(snippet).max() > 0.2 and abs(snippet[0, 0]) < 1e-3  # faded in: no click
    # scrubbing on the ruler plays the frame under the mouse, backwards when dragging left
    ruler = studio.timeline.ruler
    x = int(view.layout.x(30) - view.horizontalScrollBar().value())
    QTest.mousePress(ruler, Qt.MouseButton.LeftButton, pos=QPoint(x, 10))
    assert studio.editor.playhead == 30 and len(viewer.last_audio) == RATE // 24
    expected = playback_audio.with_fades(playback_audio.mix(studio.document.project, studio.cache, 30, 1 / 24))
    assert np.allclose(viewer.last_audio, expected)
    QTest.mouseRelease(ruler, Qt.MouseButton.LeftButton, pos=QPoint(x, 10))


def test_meters_read_peak_and_rms_in_dbfs(qtbot, studio, tone_shot):
    viewer = studio.viewer
    studio.editor.set_playhead(25)
    studio.editor.set_playhead(24)
    frame = playback_audio.mix(studio.document.project, studio.cache, 24, 1 / 24)
    peak = 20 * np.log10(np.abs(frame[:, 0]).max())
    rms = 20 * np.log10(np.sqrt(np.mean(frame[:, 0] ** 2)))
    assert viewer.meter.peak[0] == pytest.approx(peak, abs=0.05)
    assert viewer.meter.rms[0] == pytest.approx(rms, abs=0.05)
    assert -20 < rms < peak < 0  # a half-scale tone: below full scale, RMS under peak
    assert playback_audio.levels(np.zeros((100, 2), np.float32))[0] == [-90.0, -90.0]
