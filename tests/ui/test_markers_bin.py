"""Markers (named, coloured, listed, exported), the timecode field, the Media bin list and the queue size."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit, QListView, QMenu, QToolButton

from soul_studio.project import Character, Marker, Project, save_project
from soul_studio.project.edits import AddCharacter, AddMarker
from tests.ui.test_takes import _click_menu_item, _drop_shot

pytestmark = pytest.mark.gui


def test_markers_named_coloured_listed_and_exported(qtbot, studio, portrait, line_audio, tmp_path):
    _drop_shot(studio, portrait, line_audio)
    project = studio.document.project
    view = studio.timeline.view
    studio.editor.set_playhead(12)
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_M)
    panel = studio.markers
    assert panel.tree.topLevelItemCount() == 1
    marker = project.timeline.markers[0]
    item = panel.item_for(marker.id)
    assert item.text(1) == "01:00:00:12"
    # rename in place: double-click the name, type, Enter
    rect = panel.tree.visualItemRect(item)
    studio.docks["markers"].raise_()
    qtbot.waitUntil(panel.tree.isVisible, timeout=2000)
    panel.tree.editItem(item, 0)
    editor = panel.tree.viewport().findChild(QLineEdit)
    assert editor is not None
    editor.setFocus()
    editor.selectAll()
    QTest.keyClicks(editor, "Ben enters")
    QTest.keyClick(editor, Qt.Key.Key_Return)  # the delegate commits on the next turn of the event loop
    qtbot.waitUntil(lambda: marker.name == "Ben enters", timeout=2000)
    # colour from the context menu
    panel.tree.customContextMenuRequested.emit(panel.tree.visualItemRect(panel.item_for(marker.id)).center())
    _click_menu_item(qtbot, "Colour")
    _click_menu_item(qtbot, "Red")
    assert marker.colour == "#e5484d"
    # double-click the timecode to jump there
    studio.editor.set_playhead(0)
    item = panel.item_for(marker.id)
    rect = panel.tree.visualItemRect(item)
    pos = rect.center()
    pos.setX(panel.tree.columnViewportPosition(1) + 10)
    QTest.mouseClick(panel.tree.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    QTest.mouseDClick(panel.tree.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert studio.editor.playhead == 12
    # the interchange files carry the name and the colour
    from soul_studio.export import ExportOptions, export_project

    out = tmp_path / "cut.otio"
    export_project(project, "otio", out, ExportOptions(final_delivery=False, media="takes"))
    import opentimelineio as otio

    timeline = otio.adapters.read_from_file(str(out))
    (exported,) = timeline.tracks.markers
    assert exported.name == "Ben enters" and exported.color == otio.schema.MarkerColor.RED
    assert not isinstance(QApplication.activePopupWidget(), QMenu)


def test_timecode_field_jumps(qtbot, studio, portrait, line_audio):
    _drop_shot(studio, portrait, line_audio)
    field = studio.timeline.timecode
    field.setFocus()
    field.selectAll()
    QTest.keyClicks(field, "01:00:01:06")
    QTest.keyClick(field, Qt.Key.Key_Return)
    assert studio.editor.playhead == 30 and field.text() == "01:00:01:06"
    field.setFocus()
    field.selectAll()
    QTest.keyClicks(field, "-6")
    QTest.keyClick(field, Qt.Key.Key_Return)
    assert studio.editor.playhead == 24
    field.setFocus()
    field.selectAll()
    QTest.keyClicks(field, "12:xx")
    QTest.keyClick(field, Qt.Key.Key_Return)
    assert studio.editor.playhead == 24  # nonsense is refused, the playhead stays


def test_media_bin_list_view_sorts_and_searches(qtbot, studio, portrait, make_audio):
    bin_ = studio.media
    files = [make_audio("zeta.wav", 1.0), make_audio("alpha.wav", 3.0), portrait]
    bin_.import_files([str(f) for f in files])
    QTest.mouseClick(bin_.list_mode, Qt.MouseButton.LeftButton)
    assert bin_.list.viewMode() == QListView.ViewMode.ListMode
    names = lambda: [bin_.list.item(i).text().split("   ")[0] for i in range(bin_.list.count())]  # noqa: E731
    assert names() == ["ada.png", "alpha.wav", "zeta.wav"]  # by name
    bin_.sort.setCurrentIndex(bin_.sort.findData("duration"))
    assert names()[:2] == ["alpha.wav", "zeta.wav"]  # longest first
    bin_.search.setFocus()
    QTest.keyClicks(bin_.search, "ze")
    assert names() == ["zeta.wav"]
    assert "1.00 s" in bin_.list.item(0).text() and "dialogue" in bin_.list.item(0).text()


def test_render_queue_shows_eight_rows(qtbot, studio, portrait, make_audio):
    from soul_studio.render.manager import JobState

    ids = [_drop_shot(studio, portrait, make_audio(f"l{i}.wav", 0.5)) for i in range(8)]
    for n, shot_id in enumerate(ids):
        studio.queue.update_job(JobState(job_id=f"job{n}", shot_id=shot_id, quality="draft", status="queued"))
    tree = studio.queue.tree
    qtbot.waitUntil(lambda: tree.topLevelItemCount() == 8, timeout=2000)
    last = tree.visualItemRect(tree.topLevelItem(7))
    assert 0 < last.bottom() <= tree.viewport().height()  # the eighth job is on screen, whole


def test_panels_follow_the_project_the_window_opens(qtbot, studio, portrait, line_audio, tmp_path):
    """Markers, Media and Cast list the new project after Open, and keep following its edits."""
    _drop_shot(studio, portrait, line_audio)
    studio.timeline.view.setFocus()
    QTest.keyClick(studio.timeline.view, Qt.Key.Key_M)
    assert studio.markers.tree.topLevelItemCount() == 1 and studio.cast.list.count() == 1
    assert studio.media.list.count() >= 1
    assert studio.save()
    other = save_project(Project(name="Other"), tmp_path / "other.soulproj")
    assert studio.open_project(other, confirm=False)
    assert studio.markers.tree.topLevelItemCount() == 0 and studio.cast.list.count() == 0
    assert studio.media.list.count() == 0
    assert studio.cast.count.text() == "0 characters" and studio.media.count.text() == "Drop portraits and audio here"
    studio.document.push(AddCharacter(Character("Cleo")))
    studio.document.push(AddMarker(Marker(frame=5, name="cue")))
    assert studio.cast.list.count() == 1 and studio.cast.list.item(0).text().startswith("Cleo")
    assert studio.markers.tree.topLevelItemCount() == 1 and studio.markers.tree.topLevelItem(0).text(0) == "cue"
    # The header buttons of the new project's panels act on it: Add, then Remove, a character.
    buttons = {b.toolTip(): b for b in studio.cast.findChildren(QToolButton)}
    QTest.mouseClick(buttons["Add a character"], Qt.MouseButton.LeftButton)
    assert [c.name for c in studio.document.project.characters] == ["Cleo", "Character 2"]
    assert studio.cast.count.text() == "2 characters"
    QTest.mouseClick(buttons["Remove the character (their shots keep their lines)"], Qt.MouseButton.LeftButton)
    assert [c.name for c in studio.document.project.characters] == ["Cleo"]
