"""Which take a shot uses, driven like an editor: type, undo, pick, compare, trash, export."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu

from engine.media import read_frame_at
from soul_studio.project.model import Take
from soul_studio.render.manager import RenderManager
from soul_studio.render.takes import take_in_use
from tests.ui.conftest import drop_files
from tests.ui.fake_takes import add_take, mean_rgb

pytestmark = pytest.mark.gui


def _drop_shot(studio, portrait: Path, audio: Path) -> str:
    """Drop a portrait and a line after the last clip (a new shot at the end)."""
    view = studio.timeline.view
    view.set_ppf(2.0)
    places = view.layout.placements
    x = int(view.shot_rect(places[-1].shot.id).right()) + 40 if places else 100
    before = set(studio.document.project.shots)
    drop_files(view, [portrait, audio], QPoint(x, 40))
    (added,) = [s for s in studio.document.project.shots if s not in before]
    return added


def _type_line(qtbot, studio, shot_id: str, text: str) -> None:
    studio.editor.select([shot_id])
    box = studio.inspector.text
    box.setFocus()
    qtbot.waitUntil(box.hasFocus, timeout=2000)
    QTest.keyClicks(box, text)


def _viewer_rgb(qtbot, studio, frame: int) -> tuple[float, float, float]:
    studio.editor.set_playhead(frame)
    viewer = studio.viewer

    def decoded() -> bool:
        viewer.show_frame(frame)
        return viewer.frame_view.image is not None and viewer.frame_view.badge.endswith("TAKE")

    qtbot.waitUntil(decoded, timeout=10_000)
    _, path, index, _ = viewer.source_at(frame)
    qtbot.waitUntil(lambda: studio.cache.cached_frame(path, index) is not None, timeout=10_000)
    viewer.show_frame(frame)
    return mean_rgb(viewer.frame_view.image)


def _click_menu_item(qtbot, text: str) -> None:
    """Click the item of the open popup whose text starts with ``text`` (waits for a submenu it opens)."""
    menu = QApplication.activePopupWidget()
    assert isinstance(menu, QMenu)
    for action in menu.actions():
        if action.text().replace("&", "").startswith(text):
            QTest.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())
            sub = action.menu()
            if sub is not None:
                qtbot.waitUntil(lambda sub=sub: QApplication.activePopupWidget() is sub, timeout=3000)
            return
    raise AssertionError(f"no menu item {text!r} in {[a.text() for a in menu.actions()]}")


def test_edit_then_undo_finds_the_rendered_take_again(qtbot, studio, portrait, line_audio):
    shot_id = _drop_shot(studio, portrait, line_audio)
    project = studio.document.project
    shot = project.shots[shot_id]
    draft = add_take(studio, shot_id, "draft", 200)
    view = studio.timeline.view
    assert view.badge(shot) == ("draft", None)

    _type_line(qtbot, studio, shot_id, "Hello")
    assert view.badge(shot) == ("stale", None)
    assert take_in_use(project, shot) is None
    assert studio.inspector.takes.states()[draft.id] == "stale"
    # Ctrl+Z with the Line field still focused reaches the project's undo stack
    QTest.keyClick(studio.inspector.text, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert shot.text == ""
    assert view.badge(shot) == ("draft", None)
    assert take_in_use(project, shot) is draft
    assert studio.inspector.takes.states()[draft.id] == "in use"
    # and rendering again reuses that take: it is the one the shot's inputs hash to
    manager = RenderManager(project, studio.document.apply_untracked)
    (job_id,) = manager.render([shot_id], "draft")
    assert manager.jobs[job_id].status == "reused"
    # redo from the field (Ctrl+Shift+Z) makes it stale again
    QTest.keyClick(studio.inspector.text, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert shot.text == "Hello" and view.badge(shot) == ("stale", None)


def test_final_then_edited_line_shows_the_fresh_draft_and_exports_it(qtbot, studio, portrait, line_audio, tmp_path):
    shot_id = _drop_shot(studio, portrait, line_audio)
    project = studio.document.project
    shot = project.shots[shot_id]
    final = add_take(studio, shot_id, "final", 60)
    assert _viewer_rgb(qtbot, studio, 3)[0] == pytest.approx(60, abs=6)
    _type_line(qtbot, studio, shot_id, "New line")
    # the stale final is shown (badged) until something fresh exists
    studio.viewer.show_frame(3)
    assert studio.viewer.frame_view.badge == "STALE FINAL TAKE"
    draft = add_take(studio, shot_id, "draft", 230)
    assert studio.timeline.view.badge(shot) == ("draft", None)
    assert take_in_use(project, shot) is draft
    assert _viewer_rgb(qtbot, studio, 3)[0] == pytest.approx(230, abs=6)
    states = studio.inspector.takes.states()
    assert states == {draft.id: "in use", final.id: "stale"}

    # File ▸ Export (Ctrl+E): warnings are shown before it starts; it runs while editing goes on
    QTest.keyClick(studio, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    dialog = studio.export_dialog
    assert dialog is not None and dialog.isVisible() and not dialog.isModal()
    assert "has only a draft take" in dialog.warnings_label.text()
    assert dialog.missing_ids == [shot_id] and dialog.render_missing_button.isEnabled()
    out = tmp_path / "cut.mp4"
    dialog.path_edit.setText(str(out))
    QTest.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    QTest.keyClicks(studio.inspector.text, "!")  # editing during the export changes nothing in it
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=30_000)
    with av.open(str(out)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(container.streams.video[0])]
    assert len(frames) == shot.frames(project.fps)
    red = np.array([f[..., 0].mean() for f in frames])
    assert np.all(np.abs(red - 230) < 8)  # the fresh draft, never the stale final
    dialog.close()


def test_take_picker_use_compare_reveal_and_trash(qtbot, studio, portrait, line_audio):
    shot_id = _drop_shot(studio, portrait, line_audio)
    project = studio.document.project
    shot = project.shots[shot_id]
    draft = add_take(studio, shot_id, "draft", 40)
    final = add_take(studio, shot_id, "final", 220)
    studio.editor.select([shot_id])
    takes = studio.inspector.takes
    assert takes.states() == {final.id: "in use", draft.id: "fresh"}

    # double-click the draft in the Inspector's list: it is used (one undo step)
    item = takes.item_for(draft.id)
    rect = takes.visualItemRect(item)
    QTest.mouseClick(takes.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    QTest.mouseDClick(takes.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert shot.picked_take == draft.id and take_in_use(project, shot) is draft
    assert takes.states()[draft.id] == "in use (picked)"
    assert _viewer_rgb(qtbot, studio, 2)[0] == pytest.approx(40, abs=6)
    studio.actions["undo"].trigger()
    assert take_in_use(project, shot) is final

    # the clip's context menu: Takes ▸ #1 draft ▸ Compare A/B in Viewer
    view = studio.timeline.view
    centre = view.shot_rect(shot_id).center().toPoint()
    studio.timeline.view.contextMenuEvent(_context_event(view, centre))
    qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu), timeout=2000)
    _click_menu_item(qtbot, "Takes")
    _click_menu_item(qtbot, "#1 draft")
    _click_menu_item(qtbot, "Compare A/B")
    assert studio.viewer.comparing == (shot_id, draft.id)

    def compared() -> bool:
        studio.viewer.show_frame(studio.editor.playhead)
        return studio.viewer.frame_view.badge.startswith("A | B")

    qtbot.waitUntil(compared, timeout=10_000)
    image = studio.viewer.frame_view.image
    w = image.width()
    left, right = image.copy(0, 0, w // 2 - 2, image.height()), image.copy(w // 2 + 2, 0, w // 2 - 2, image.height())
    assert mean_rgb(left)[0] == pytest.approx(220, abs=8)  # A: the take in use (final)
    assert mean_rgb(right)[0] == pytest.approx(40, abs=8)  # B: the draft being compared
    studio.viewer.compare(shot_id, "")

    # reveal and trash from the Inspector list's context menu
    revealed: list[Path] = []
    studio.take_actions.reveal_hook = revealed.append
    takes.customContextMenuRequested.emit(takes.visualItemRect(takes.item_for(draft.id)).center())
    _click_menu_item(qtbot, "Reveal File")
    assert revealed == [project.resolve(draft.file)]
    takes.customContextMenuRequested.emit(takes.visualItemRect(takes.item_for(draft.id)).center())
    _click_menu_item(qtbot, "Move to Trash")
    file = project.resolve(draft.file)
    assert not file.exists() and (project.trash_folder / file.name).is_file()
    assert draft not in shot.takes
    studio.actions["undo"].trigger()
    assert file.is_file() and draft in shot.takes


def _context_event(view, pos: QPoint):
    from PySide6.QtGui import QContextMenuEvent

    return QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, view.viewport().mapToGlobal(pos))


class FakeManager:
    """Stands in for the render manager: records what was asked for."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], str]] = []

    def render(self, ids: list[str], quality: str) -> list[str]:
        self.calls.append((list(ids), quality))
        return [f"job-{i}" for i in ids]


def test_render_whats_missing_asks_for_finals_of_shots_without_a_fresh_one(qtbot, studio, portrait, make_audio):
    a = _drop_shot(studio, portrait, make_audio("a.wav", 1.0))
    b = _drop_shot(studio, portrait, make_audio("b.wav", 1.0))
    c = _drop_shot(studio, portrait, make_audio("c.wav", 1.0))
    add_take(studio, a, "final", 100)
    add_take(studio, b, "draft", 100)
    add_take(studio, c, "final", 100)
    studio.editor.select([c])
    _type_line(qtbot, studio, c, "x")  # c's final is stale now
    studio.renderer.manager = FakeManager()
    studio.timeline.view.setFocus()
    QTest.keyClick(studio.timeline.view, Qt.Key.Key_R,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
    order = studio.document.project.timeline.shot_ids()
    assert studio.renderer.manager.calls == [([s for s in order if s in (b, c)], "final")]


def test_split_keeps_the_picture_on_both_halves(qtbot, studio, portrait, line_audio, tmp_path):
    shot_id = _drop_shot(studio, portrait, line_audio)
    project = studio.document.project
    add_take(studio, shot_id, "draft", 180)
    studio.editor.set_playhead(20)
    studio.timeline.view.setFocus()
    QTest.keyClick(studio.timeline.view, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    head, tail = project.timeline_shots()
    assert tail.id != shot_id
    assert take_in_use(project, head) is not None and take_in_use(project, tail) is not None
    assert studio.timeline.view.badge(tail) == ("draft", None)
    tail_take: Take = take_in_use(project, tail)
    assert tail_take.file == head.takes[0].file and tail_take.offset == 20
    # the tail's first frame is frame 20 of the take (green says which frame)
    rgb = _viewer_rgb(qtbot, studio, 20)
    expected = read_frame_at(project.resolve(tail_take.file), 20)
    assert rgb[1] == pytest.approx(float(expected[..., 1].mean()), abs=3)
    assert rgb[1] > 100  # not frame 0 (green 10)
    studio.actions["undo"].trigger()
    assert len(project.timeline_shots()) == 1 and take_in_use(project, project.shots[shot_id]) is not None


def test_right_clicks_leave_no_menus_behind(qtbot, studio, portrait, line_audio):
    from PySide6.QtCore import QCoreApplication, QEvent

    shot_id = _drop_shot(studio, portrait, line_audio)
    add_take(studio, shot_id, "draft", 40)
    view = studio.timeline.view
    studio.editor.select([shot_id])
    takes = studio.inspector.takes

    def menus() -> int:
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        return len(studio.findChildren(QMenu))

    def right_click_and_escape(open_menu) -> None:
        open_menu()
        qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu), timeout=2000)
        QTest.keyClick(QApplication.activePopupWidget(), Qt.Key.Key_Escape)
        qtbot.waitUntil(lambda: QApplication.activePopupWidget() is None, timeout=2000)

    def on_clip() -> None:
        view.contextMenuEvent(_context_event(view, view.shot_rect(shot_id).center().toPoint()))

    def on_take() -> None:
        takes.customContextMenuRequested.emit(takes.visualItemRect(takes.topLevelItem(0)).center())

    right_click_and_escape(on_clip)
    right_click_and_escape(on_take)
    settled = menus()
    for _ in range(3):
        right_click_and_escape(on_clip)
        right_click_and_escape(on_take)
    assert menus() == settled
