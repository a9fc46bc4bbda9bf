"""Editing a scene in the studio as a user would: drop, type, trim, reorder, undo, save."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from engine.timebase import frame_count
from soul_studio.project import load_project
from soul_studio.project.storage import autosave_path
from tests.ui.conftest import drop_files

pytestmark = pytest.mark.gui


def _drop_shot(studio, portrait: Path, audio: Path) -> str:
    view = studio.timeline.view
    before = set(studio.document.project.shots)
    drop_files(view, [portrait, audio], QPoint(200, 40))
    added = [s for s in studio.document.project.shots if s not in before]
    assert len(added) == 1
    return added[0]


def test_import_media_fills_bin_with_thumbnail_and_waveform(qtbot, studio, portrait, line_audio):
    studio.media.import_files([str(portrait), str(line_audio)])
    project = studio.document.project
    assert [m.kind for m in project.media] == ["image", "audio"]
    assert project.media[1].duration == pytest.approx(2.0, abs=0.02)
    qtbot.waitUntil(lambda: studio.cache.waveform(line_audio) is not None, timeout=10_000)
    peaks = studio.cache.waveform(line_audio)
    # the bursts are loud, the gap between them silent
    assert peaks[int(0.5 * 200)] > 0.2
    assert peaks[int(0.95 * 200)] < 0.01
    qtbot.waitUntil(lambda: studio.cache.thumbnail(portrait, 144) is not None, timeout=10_000)
    assert studio.media.list.count() == 2
    studio.document.undo_stack.undo()
    assert project.media == []


def test_drop_portrait_and_audio_creates_shot(qtbot, studio, portrait, line_audio):
    shot_id = _drop_shot(studio, portrait, line_audio)
    project = studio.document.project
    shot = project.shots[shot_id]
    character = project.character(shot.character_id)
    assert character is not None and character.name == "Ada"
    assert project.resolve(character.portrait) == portrait.resolve()
    assert project.resolve(shot.audio) == line_audio.resolve()
    assert shot.frames(24.0) == frame_count(2.0, 24.0)
    assert studio.editor.selection == [shot_id]
    assert studio.windowTitle().startswith("scene.soulproj")
    assert studio.isWindowModified()
    # the drop is one undo step: shot, character and media items all go
    studio.document.undo_stack.undo()
    assert project.shots == {} and project.characters == [] and project.media == []
    studio.document.undo_stack.redo()
    assert shot_id in project.shots


def test_inspector_typing_is_one_undo_step(qtbot, studio, portrait, line_audio):
    shot_id = _drop_shot(studio, portrait, line_audio)
    studio.editor.select([shot_id])
    box = studio.inspector.text
    box.setFocus()
    QTest.keyClicks(box, "Hello there")
    shot = studio.document.project.shots[shot_id]
    assert shot.text == "Hello there"
    steps = studio.document.undo_stack.count()
    QTest.keyClicks(box, "!")
    assert studio.document.undo_stack.count() == steps  # merged with the typing before
    studio.actions["undo"].trigger()
    assert shot.text == ""
    studio.actions["redo"].trigger()
    assert shot.text == "Hello there!"
    assert box.toPlainText() == "Hello there!"


def test_trim_by_dragging_tail_edge(qtbot, studio, portrait, line_audio):
    shot_id = _drop_shot(studio, portrait, line_audio)
    view = studio.timeline.view
    view.set_ppf(10.0)
    rect = view.shot_rect(shot_id)
    y = int(rect.center().y())
    start = QPoint(int(rect.right()) - 2, y)
    assert view.hit(start.toPointF())[0] == "tail"
    end = QPoint(start.x() - 120, y)  # 12 frames shorter at 10 px per frame
    QTest.mousePress(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(view.viewport(), QPoint(start.x() - 60, y))
    QTest.mouseMove(view.viewport(), end)
    assert view.drag is not None and view.drag.kind == "trim"
    QTest.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    shot = studio.document.project.shots[shot_id]
    assert shot.frames(24.0) == 48 - 12
    assert shot.audio_in == 0.0
    assert shot.audio_out == pytest.approx(1.5, abs=1e-6)
    studio.document.undo_stack.undo()
    assert shot.audio_out is None and shot.frames(24.0) == 48


def test_trim_head_moves_audio_in(qtbot, studio, portrait, line_audio):
    shot_id = _drop_shot(studio, portrait, line_audio)
    view = studio.timeline.view
    view.set_ppf(10.0)
    rect = view.shot_rect(shot_id)
    y = int(rect.center().y())
    start = QPoint(int(rect.left()) + 2, y)
    assert view.hit(start.toPointF())[0] == "head"
    QTest.mousePress(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(view.viewport(), QPoint(start.x() + 50, y))
    QTest.mouseMove(view.viewport(), QPoint(start.x() + 60, y))
    QTest.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       QPoint(start.x() + 60, y))
    shot = studio.document.project.shots[shot_id]
    assert shot.audio_in == pytest.approx(0.25, abs=1e-6)  # 6 frames at 24 fps
    assert shot.frames(24.0) == 42


def test_reorder_by_dragging(qtbot, studio, portrait, make_audio):
    view = studio.timeline.view
    view.set_ppf(4.0)
    a = _drop_shot(studio, portrait, make_audio("a.wav", 1.0))
    for name in ("b.wav", "c.wav"):  # dropped after the last shot: appended
        end = view.shot_rect(studio.document.project.timeline.shot_ids()[-1])
        drop_files(view, [make_audio(name, 1.0)], QPoint(int(end.right()) + 30, 40))
    project = studio.document.project
    order = project.timeline.shot_ids()
    assert order[0] == a and len(order) == 3
    view.set_ppf(8.0)
    rect_a, rect_c = view.shot_rect(order[0]), view.shot_rect(order[2])
    y = int(rect_a.center().y())
    start = QPoint(int(rect_a.center().x()), y)
    end = QPoint(int(rect_c.right()) - 5, y)
    QTest.mousePress(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(view.viewport(), QPoint(start.x() + 30, y))
    QTest.mouseMove(view.viewport(), end)
    assert view.drag is not None and view.drag.kind == "move"
    QTest.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    assert project.timeline.shot_ids() == [order[1], order[2], order[0]]
    studio.document.undo_stack.undo()
    assert project.timeline.shot_ids() == order


def test_split_delete_and_markers(qtbot, studio, portrait, line_audio):
    shot_id = _drop_shot(studio, portrait, line_audio)
    project = studio.document.project
    studio.editor.set_playhead(18)
    studio.actions["split"].trigger()
    ids = project.timeline.shot_ids()
    assert len(ids) == 2
    head, tail = (project.shots[i] for i in ids)
    assert head.frames(24.0) == 18 and tail.frames(24.0) == 30
    assert tail.audio_in == pytest.approx(0.75)
    studio.actions["marker"].trigger()
    assert [m.frame for m in project.timeline.markers] == [18]
    studio.editor.select([ids[0]])
    studio.actions["ripple_delete"].trigger()
    placements = project.placements()
    assert [p.shot.id for p in placements] == [ids[1]] and placements[0].start == 0
    studio.document.undo_stack.undo()
    assert project.timeline.shot_ids() == ids and shot_id in project.shots


def test_save_reopen_equal(qtbot, studio, portrait, line_audio, project_path):
    shot_id = _drop_shot(studio, portrait, line_audio)
    studio.editor.select([shot_id])
    QTest.keyClicks(studio.inspector.text, "Where were you?")
    assert studio.save()
    assert not studio.isWindowModified()
    reopened = load_project(project_path)
    assert reopened == studio.document.project
    assert reopened.shots[shot_id].text == "Where were you?"


def test_autosave_recovery_on_open(qtbot, studio, portrait, line_audio, project_path):
    shot_id = _drop_shot(studio, portrait, line_audio)
    written = studio.autosave()
    assert written == autosave_path(project_path) and written.exists()
    studio.document.undo_stack.setClean()
    studio.document._untracked = False
    studio.prompts.recover = True
    assert studio.open_project(project_path)
    assert "recover" in studio.prompts.asked
    assert shot_id in studio.document.project.shots
    assert studio.document.is_dirty


def test_open_corrupt_project_shows_error(qtbot, studio, tmp_path):
    bad = tmp_path / "bad.soulproj"
    bad.write_text("{ not json")
    assert not studio.open_project(bad, confirm=False)
    title, text = studio.prompts.errors[-1]
    assert title == "Cannot open the project" and "corrupt" in text


def test_relink_missing_portrait(qtbot, studio, portrait, line_audio, project_path, tmp_path):
    _drop_shot(studio, portrait, line_audio)
    assert studio.save()
    moved = tmp_path / "moved" / portrait.name
    moved.parent.mkdir()
    portrait.rename(moved)
    studio.prompts.relink_map = {portrait.resolve(): moved}
    assert studio.open_project(project_path, confirm=False)
    assert "relink" in studio.prompts.asked
    character = studio.document.project.characters[0]
    assert studio.document.project.resolve(character.portrait) == moved.resolve()


def test_shortcuts_listed(qtbot, studio):
    groups = studio.shortcut_groups()
    playback = dict(groups["Playback"])
    assert playback["Play / Pause"] == "Space"
    assert "Ctrl+Z" in dict(groups["Edit"])["Undo"]


def test_close_asks_to_save_when_dirty(qtbot, studio, portrait, line_audio, project_path):
    _drop_shot(studio, portrait, line_audio)
    studio.prompts.save_answer = "cancel"
    assert not studio.close()
    assert studio.isVisible()
    studio.prompts.save_answer = "save"
    assert studio.close()
    assert len(load_project(project_path).shots) == 1


def test_engine_that_cannot_start_leaves_studio_usable(qtbot, tmp_path, project_path, portrait, line_audio):
    import asyncio

    import qasync
    from PySide6.QtWidgets import QApplication

    from soul_studio.ui.main_window import MainWindow
    from soul_studio.ui.settings import StudioSettings
    from tests.ui.conftest import ScriptedPrompts

    class Broken:
        engine_info: dict = {}
        jobs: dict = {}

        def add_listener(self, cb):
            pass

        async def start(self):
            raise RuntimeError("engine process exited at start (exit code 1)")

        async def stop(self):
            pass

    loop = qasync.QEventLoop(QApplication.instance())
    asyncio.set_event_loop(loop)
    try:
        window = MainWindow(StudioSettings(tmp_path / "s.ini"), manager_factory=lambda doc, apply: Broken())
        window.prompts = ScriptedPrompts()
        qtbot.addWidget(window)
        window.open_project(project_path, confirm=False)
        loop.run_until_complete(window.renderer.start())
        assert window.renderer.engine_status == "failed"
        assert "Engine offline" in window.engine_label.text() and "exit code 1" in window.engine_label.text()
        drop_files(window.timeline.view, [portrait, line_audio], QPoint(100, 40))
        assert len(window.document.project.shots) == 1
        window.document.undo_stack.setClean()
        window.document._untracked = False
        window.close()
    finally:
        asyncio.set_event_loop(None)
        loop.close()
