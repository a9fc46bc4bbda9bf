"""The catalogue in Preferences → Models and from the first-run dialog, driven with pytest-qt."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from soul_studio.models.settings import StudioPaths

pytestmark = pytest.mark.gui


def test_preferences_lists_the_catalogue_with_commands_and_licence_flags(qtbot):
    from soul_studio.ui.preferences_models import ModelsPage

    page = ModelsPage(StudioPaths.default())
    qtbot.addWidget(page)
    panel = page.catalogue
    names = [panel.table.item(r, 0).text() for r in range(panel.table.rowCount())]
    assert "InfiniteTalk audio adapters" in names and any(n.startswith("Wan2.1-I2V-14B-480P") for n in names)
    qtbot.keyClicks(panel.folder, "/data/it")
    panel.select_key("infinitetalk")
    text = panel.details.toPlainText()
    assert "MeiGen-AI/InfiniteTalk" in text and "--local-dir /data/it/infinitetalk" in text
    assert "Apache-2.0 (commercial use allowed)" in text
    panel.select_key("lightx2v-i2v-480p-rank64")
    row = panel.table.currentRow()
    assert "unconfirmed" in panel.table.item(row, 2).text()
    assert "licence not confirmed" in panel.details.toPlainText()
    qtbot.mouseClick(panel.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text().startswith("hf download Kijai/WanVideo_comfy Lightx2v/")
    panel.select_key("wan21-i2v-14b-480p")
    assert "24 GB: group offload" in panel.details.toPlainText()


def test_first_run_opens_the_catalogue_with_the_chosen_folder(qtbot, tmp_path, monkeypatch):
    from soul_studio.ui import model_catalogue
    from soul_studio.ui.first_run import FirstRunDialog

    shown = []
    monkeypatch.setattr(model_catalogue.CatalogueDialog, "exec", lambda self: shown.append(self.panel.command()) or 0)
    dialog = FirstRunDialog(StudioPaths(tmp_path / "cfg"))
    qtbot.addWidget(dialog)
    assert [dialog.kind.itemData(i) for i in range(dialog.kind.count())] == ["wan-ti2v-5b", "infinitetalk"]
    qtbot.keyClicks(dialog.folder_edit, "/models/it")
    qtbot.mouseClick(dialog.catalogue_button, Qt.MouseButton.LeftButton)
    assert shown == ["hf download Wan-AI/Wan2.1-I2V-14B-480P-Diffusers --local-dir /models/it"]


def test_preferences_pick_infinitetalk_as_the_engine(qtbot, tmp_path):
    from soul_studio.ui.dialogs import PreferencesDialog
    from soul_studio.ui.settings import StudioSettings

    settings = StudioSettings(tmp_path / "studio.ini")
    prefs = PreferencesDialog(settings)
    qtbot.addWidget(prefs)
    index = prefs.backend.findData("infinitetalk")
    assert index >= 0 and "InfiniteTalk" in prefs.backend.itemText(index)
    prefs.backend.setCurrentIndex(index)
    prefs.apply()
    assert StudioSettings(tmp_path / "studio.ini").default_backend == "infinitetalk"
