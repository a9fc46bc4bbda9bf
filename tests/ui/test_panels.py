"""Panels and menus: cast edits, script import, new project values, ruler ticks, zoom, snapping, audio mix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from soul_studio.project import Project
from soul_studio.resources import demo_dir
from soul_studio.ui.dialogs import NewProjectDialog, PreferencesDialog
from soul_studio.ui.media_cache import PLAYBACK_RATE
from soul_studio.ui.timeline.panel import TimeRuler
from soul_studio.ui.viewer import mix_timeline_audio
from tests.ui.conftest import drop_files

pytestmark = pytest.mark.gui


def test_cast_panel_edits_character(qtbot, studio, portrait, line_audio):
    drop_files(studio.timeline.view, [portrait, line_audio], QPoint(100, 40))
    cast = studio.cast
    assert cast.list.count() == 1 and cast.character.name == "Ada"
    cast.name.setText("Ada Lovelace")
    cast.name.editingFinished.emit()
    cast.framing.setCurrentIndex(cast.framing.findData("upper_body"))
    cast.framing.activated.emit(cast.framing.currentIndex())
    cast.mouth_auto.setChecked(False)
    c = studio.document.project.characters[0]
    assert c.name == "Ada Lovelace" and c.framing == "upper_body"
    assert c.mouth_box is not None and len(c.mouth_box) == 4
    cast.add_character()
    assert len(studio.document.project.characters) == 2
    assert studio.document.project.characters[1].colour != c.colour
    # the new character can be chosen for the shot in the Inspector
    shot = studio.document.project.timeline_shots()[0]
    studio.editor.select([shot.id])
    combo = studio.inspector.character
    combo.setCurrentIndex(combo.findData(studio.document.project.characters[1].id))
    combo.activated.emit(combo.currentIndex())
    assert shot.character_id == studio.document.project.characters[1].id
    for _ in range(4):
        studio.document.undo_stack.undo()
    assert shot.character_id == c.id and len(studio.document.project.characters) == 1


def test_import_script_builds_shots_in_one_undo_step(qtbot, studio, monkeypatch):
    from soul_studio.script import ImportOptions, parse_screenplay
    from soul_studio.ui.script_import_dialog import ScriptImportChoice

    screenplay = parse_screenplay(demo_dir() / "scene.fountain")
    scene = screenplay.scenes[0]

    class Scripted:
        def __init__(self, parent, project):
            self.project = project

        def exec(self):
            return True

        def choice(self):
            return ScriptImportChoice(screenplay, scene, ImportOptions())

    monkeypatch.setattr(type(studio), "_dialog_class", staticmethod(lambda module, name: Scripted))
    studio.import_script()
    project = studio.document.project
    lines = [b for b in scene.elements if type(b).__name__ == "DialogueBlock"]
    assert len(project.timeline.entries) == len(lines) > 0
    assert studio.editor.selection == project.timeline.shot_ids()
    assert {c.name.casefold() for c in project.characters} >= {"ada", "ben"}
    studio.document.undo_stack.undo()
    assert project.timeline.entries == [] and project.characters == []


def test_new_project_and_preferences_dialogs(qtbot, tmp_path, studio):
    dialog = NewProjectDialog(folder=tmp_path)
    qtbot.addWidget(dialog)
    dialog.name.setText("Night Ferry")
    dialog.fps.setCurrentIndex(dialog.fps.findData(29.97))
    dialog.resolution.setCurrentIndex(2)
    values = dialog.values()
    assert values["path"] == tmp_path / "Night Ferry.soulproj"
    project = Project(**{k: v for k, v in values.items() if k != "path"})
    assert (project.fps, project.width, project.height) == (29.97, 1080, 1920)

    prefs = PreferencesDialog(studio.settings)
    qtbot.addWidget(prefs)
    prefs.backend.setCurrentIndex(prefs.backend.findData("soul"))
    prefs.models.setText(str(tmp_path / "models"))
    prefs.auto_draft.setChecked(True)
    prefs.apply()
    assert studio.settings.default_backend == "soul"
    assert studio.settings.model_folder == str(tmp_path / "models")
    assert studio.settings.auto_draft is True


def test_ruler_ticks_land_on_seconds():
    for fps, base in ((24.0, 24), (25.0, 25), (29.97, 30), (23.976, 24)):
        for ppf in (0.05, 0.5, 2.0, 8.0, 30.0):
            major, minor = TimeRuler._step(fps, ppf)
            assert major * ppf >= 90 or major >= base * 3600
            assert major % minor == 0
            assert base % major == 0 or major % base == 0


def test_zoom_keeps_frame_under_pointer_and_snaps_trim(qtbot, studio, portrait, make_audio):
    view = studio.timeline.view
    view.set_ppf(4.0)
    drop_files(view, [portrait, make_audio("a.wav", 2.0)], QPoint(50, 40))
    end = view.shot_rect(studio.document.project.timeline.shot_ids()[-1])
    drop_files(view, [make_audio("b.wav", 2.0)], QPoint(int(end.right()) + 20, 40))
    view.set_ppf(10.0)
    view.horizontalScrollBar().setValue(100)
    anchor = 300
    frame_before = (view.horizontalScrollBar().value() + anchor) / view.layout.ppf
    view.zoom(1.5, anchor)
    frame_after = (view.horizontalScrollBar().value() + anchor) / view.layout.ppf
    assert abs(frame_after - frame_before) < 1.0
    # a trim released 3 px from the playhead snaps onto it
    view.set_ppf(10.0)
    view.horizontalScrollBar().setValue(0)
    studio.editor.set_playhead(40)
    first = studio.document.project.timeline.shot_ids()[0]
    rect = view.shot_rect(first)
    y = int(rect.center().y())
    start = QPoint(int(rect.right()) - 2, y)
    target = QPoint(400 + 3, y)
    QTest.mousePress(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(view.viewport(), QPoint(start.x() - 20, y))
    QTest.mouseMove(view.viewport(), target)
    QTest.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, target)
    assert studio.document.project.shots[first].frames(24.0) == 40


def test_multi_select_and_ripple_delete(qtbot, studio, portrait, make_audio):
    view = studio.timeline.view
    view.set_ppf(4.0)
    for name in ("a.wav", "b.wav", "c.wav"):
        ids = studio.document.project.timeline.shot_ids()
        x = int(view.shot_rect(ids[-1]).right()) + 20 if ids else 50
        drop_files(view, [portrait, make_audio(name, 1.0)], QPoint(x, 40))
    ids = studio.document.project.timeline.shot_ids()
    r0, r2 = view.shot_rect(ids[0]), view.shot_rect(ids[2])
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, r0.center().toPoint())
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier,
                     r2.center().toPoint())
    assert studio.editor.selection == [ids[0], ids[2]]
    studio.actions["ripple_delete"].trigger()
    placements = studio.document.project.placements()
    assert [p.shot.id for p in placements] == [ids[1]] and placements[0].start == 0
    studio.actions["undo"].trigger()
    assert studio.document.project.timeline.shot_ids() == ids


def test_timeline_audio_mix_follows_the_cut(qtbot, studio, portrait, make_audio):
    view = studio.timeline.view
    view.set_ppf(4.0)
    drop_files(view, [portrait, make_audio("a.wav", 1.0, bursts=[(0.0, 1.0)])], QPoint(50, 40))
    end = view.shot_rect(studio.document.project.timeline.shot_ids()[-1])
    drop_files(view, [make_audio("b.wav", 1.0, bursts=[(0.5, 1.0)])], QPoint(int(end.right()) + 20, 40))
    project = studio.document.project
    paths = [project.resolve(s.audio) for s in project.timeline_shots()]
    for p in paths:
        qtbot.waitUntil(lambda p=p: studio.cache.audio(p) is not None, timeout=10_000)
    pcm = mix_timeline_audio(studio.document, studio.cache, 0)
    assert pcm.shape == (2 * PLAYBACK_RATE, 2)
    level = lambda a, b: float(np.abs(pcm[int(a * PLAYBACK_RATE):int(b * PLAYBACK_RATE)]).mean())  # noqa: E731
    assert level(0.1, 0.9) > 1000  # first line
    assert level(1.05, 1.45) < 10  # second line starts silent
    assert level(1.55, 1.95) > 1000
    later = mix_timeline_audio(studio.document, studio.cache, 36)  # from 1.5 s
    assert later.shape[0] == PLAYBACK_RATE // 2
    assert Path(paths[0]).exists()


def test_marker_can_be_removed_from_ruler(qtbot, studio, portrait, line_audio):
    drop_files(studio.timeline.view, [portrait, line_audio], QPoint(100, 40))
    view = studio.timeline.view
    view.set_ppf(10.0)
    view.horizontalScrollBar().setValue(0)
    studio.editor.set_playhead(12)
    studio.actions["marker"].trigger()
    marker = studio.document.project.timeline.markers[0]
    ruler = studio.timeline.ruler
    assert ruler.marker_at(120 + 3) == marker.id and ruler.marker_at(160) is None
    from soul_studio.project.edits import RemoveMarker

    studio.document.push(RemoveMarker(marker.id))
    assert studio.document.project.timeline.markers == []
