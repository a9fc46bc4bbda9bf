"""Tracks: V1/V2, a dialogue row per character, music/effects; mute, solo, lock; overlapping lines."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from engine.media import load_audio
from soul_studio.project import load_project
from soul_studio.project.model import dialogue_track
from tests.ui.fake_takes import add_take
from tests.ui.test_takes import _drop_shot

pytestmark = pytest.mark.gui


@pytest.fixture
def two_speakers(studio, make_portrait, make_audio):
    """Ada (220 Hz bursts) then Ben (a longer line), back to back on V1."""
    ada = _drop_shot(studio, make_portrait("ada.png"), make_audio("ada.wav", 2.0))
    ben = _drop_shot(studio, make_portrait("ben.png"), make_audio("ben.wav", 1.0))
    return ada, ben


def test_rows_for_video_each_character_and_music(studio, two_speakers):
    ada, ben = two_speakers
    project = studio.document.project
    rows = [(r.tag, r.kind) for r in studio.timeline.view.layout.rows]
    assert rows == [("V2", "video"), ("V1", "video"), ("A1", "dialogue"), ("A2", "dialogue"), ("M1", "music")]
    view = studio.timeline.view
    # each line sits on its own character's row
    assert view.audio_rect(ada).top() < view.audio_rect(ben).top()
    assert view.hit(view.audio_rect(ben).center()) == ("body", ben)
    assert project.shots[ada].character_id != project.shots[ben].character_id


def test_drag_to_v2_overlaps_and_exports_upper_picture_with_both_lines(qtbot, studio, two_speakers, tmp_path):
    ada, ben = two_speakers
    project = studio.document.project
    add_take(studio, ada, "final", 60)
    add_take(studio, ben, "final", 200)
    view = studio.timeline.view
    view.set_ppf(4.0)
    body = view.shot_rect(ben).center().toPoint()
    v2 = view.row_rect("V2").center().toPoint()
    target = QPoint(body.x() - 24 * 4, v2.y())  # 24 frames earlier, one row up
    QTest.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=body)
    QTest.mouseMove(view.viewport(), body + QPoint(0, -10))
    QTest.mouseMove(view.viewport(), target)
    QTest.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=target)
    spans = [(p.shot.id, p.track, p.start, p.end) for p in project.placements()]
    assert spans == [(ada, "V1", 0, 48), (ben, "V2", 24, 48)]  # Ben answers over Ada's last second
    assert project.placement_at(30).shot.id == ben  # V2 wins in the picture
    # it is kept in the file (schema 2)
    assert studio.save()
    again = load_project(project.path)
    assert [(e.shot_id, e.track) for e in again.timeline.entries] == [(ada, "V1"), (ben, "V2")]

    from soul_studio.export import ExportOptions, export_project

    out = tmp_path / "overlap.mp4"
    export_project(project, "mp4", out, ExportOptions(final_delivery=False))
    import av

    with av.open(str(out)) as c:
        reds = [f.to_ndarray(format="rgb24")[..., 0].mean() for f in c.decode(c.streams.video[0])]
    assert len(reds) == 48
    assert np.all(np.abs(np.array(reds[:24]) - 60) < 8) and np.all(np.abs(np.array(reds[24:]) - 200) < 8)
    sound = load_audio(out, 48_000, 1).samples[0]
    # Ada's line goes on under Ben's picture, mixed with Ben's line
    ada_only = load_audio(project.resolve(project.shots[ada].audio), 48_000, 1).samples[0]
    ben_line = load_audio(project.resolve(project.shots[ben].audio), 48_000, 1).samples[0]
    window = slice(int(1.3 * 48_000), int(1.6 * 48_000))
    expected = ada_only[window] + ben_line[int(0.3 * 48_000): int(0.6 * 48_000)]
    assert np.sqrt(np.mean(sound[window] ** 2)) == pytest.approx(np.sqrt(np.mean(expected ** 2)), rel=0.25)


def test_mute_solo_lock_from_the_track_headers(qtbot, studio, two_speakers):
    ada, ben = two_speakers
    project = studio.document.project
    headers = studio.timeline.headers
    ada_row = dialogue_track(project.shots[ada].character_id)
    ben_row = dialogue_track(project.shots[ben].character_id)
    studio.cache.audio(project.resolve(project.shots[ada].audio))
    studio.cache.audio(project.resolve(project.shots[ben].audio))
    qtbot.waitUntil(lambda: studio.cache.pending() == 0, timeout=10_000)

    def level(frame: int) -> float:
        studio.editor.set_playhead(frame + 1)
        studio.editor.set_playhead(frame)
        return studio.viewer.meter.peak[0]

    loud_ada, loud_ben = level(12), level(60)
    assert loud_ada > -20 and loud_ben > -20
    QTest.mouseClick(headers, Qt.MouseButton.LeftButton, pos=headers.switch_rect(ada_row, "mute").center().toPoint())
    assert project.timeline.switches(ada_row).mute
    assert level(12) == pytest.approx(-90.0) and level(60) == pytest.approx(loud_ben, abs=0.5)
    QTest.mouseClick(headers, Qt.MouseButton.LeftButton, pos=headers.switch_rect(ada_row, "mute").center().toPoint())
    QTest.mouseClick(headers, Qt.MouseButton.LeftButton, pos=headers.switch_rect(ben_row, "solo").center().toPoint())
    assert level(12) == pytest.approx(-90.0) and level(60) > -20  # only the soloed line is heard
    studio.actions["undo"].trigger()
    assert level(12) == pytest.approx(loud_ada, abs=0.5)

    # lock V1: a drag on a clip there does nothing, Delete leaves it
    QTest.mouseClick(headers, Qt.MouseButton.LeftButton, pos=headers.switch_rect("V1", "lock").center().toPoint())
    view = studio.timeline.view
    rect = view.shot_rect(ada)
    grab = QPoint(int(rect.right()) - 2, int(rect.center().y()))
    QTest.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=grab)
    QTest.mouseMove(view.viewport(), grab - QPoint(30, 0))
    QTest.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=grab - QPoint(30, 0))
    assert project.shots[ada].audio_out is None
    studio.editor.select([ada])
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_Delete)
    assert ada in project.shots


def test_music_dropped_on_m1_is_heard_and_exported_unless_muted(qtbot, studio, two_speakers, make_audio, tmp_path):
    from tests.ui.conftest import drop_files

    ada, ben = two_speakers
    project = studio.document.project
    view = studio.timeline.view
    view.set_ppf(4.0)
    music = make_audio("music.wav", 1.0, bursts=[(0.0, 1.0)])
    row = view.row_rect("M1")
    drop_files(view, [music], QPoint(int(view.layout.x(48) - view.horizontalScrollBar().value()), int(row.center().y())))
    (clip,) = project.timeline.music
    assert clip.start == 48 and clip.frames(24.0) == 24
    studio.cache.audio(project.resolve(clip.path))
    studio.cache.audio(project.resolve(project.shots[ben].audio))
    qtbot.waitUntil(lambda: studio.cache.pending() == 0, timeout=10_000)
    from soul_studio.ui import playback_audio

    with_music = playback_audio.mix(project, studio.cache, 48, 0.5)
    headers = studio.timeline.headers
    QTest.mouseClick(headers, Qt.MouseButton.LeftButton, pos=headers.switch_rect(
        dialogue_track(project.shots[ben].character_id), "mute").center().toPoint())
    only_music = playback_audio.mix(project, studio.cache, 48, 0.5)
    assert np.abs(only_music).max() > 0.2 and not np.allclose(only_music, with_music)

    from soul_studio.export import ExportOptions, export_project

    out = tmp_path / "m.mp4"
    export_project(project, "mp4", out, ExportOptions(final_delivery=False))
    sound = load_audio(out, 48_000, 1).samples[0]
    assert np.sqrt(np.mean(sound[: 48_000] ** 2)) > 0.05  # Ada is heard
    music_part = sound[int(2.1 * 48_000): int(2.9 * 48_000)]
    expected = load_audio(music, 48_000, 1).samples[0][int(0.1 * 48_000): int(0.9 * 48_000)]
    # Ben is muted: what is heard after 2 s is the music alone
    assert np.sqrt(np.mean(music_part ** 2)) == pytest.approx(np.sqrt(np.mean(expected ** 2)), rel=0.15)
