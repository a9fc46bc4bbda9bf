"""The export dialog runs a real export on a worker thread, reports progress and cancels."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from engine.media import probe_video  # noqa: E402
from soul_studio.ui.export_dialog import ExportDialog  # noqa: E402


@pytest.mark.gui
def test_dialog_exports_selection_off_the_ui_thread(qtbot, project, out_dir):
    a_id = project.timeline.entries[0].shot_id
    dialog = ExportDialog(project, selection=[a_id], in_out=(20, 40))
    qtbot.addWidget(dialog)
    assert dialog.range_selection.isEnabled() and dialog.range_in_out.isEnabled()
    dialog.set_format("prores422lt")
    assert dialog.path_edit.text().endswith(".mov") and not dialog.relative.isEnabled()
    dialog.path_edit.setText(str(out_dir / "sel.mov"))
    dialog.range_selection.setChecked(True)
    dialog.burn_in.setChecked(True)
    with qtbot.waitSignal(dialog.export_finished, timeout=30_000) as blocker:
        assert dialog.start_export()
        assert not dialog.export_button.isEnabled()
    result = blocker.args[0]
    assert result.path == out_dir / "sel.mov"
    info = probe_video(result.path)
    assert info.frame_count == 24 and info.profile == "LT"
    qtbot.waitUntil(lambda: dialog.worker is None, timeout=5_000)
    assert dialog.progress.value() == 1000 and dialog.export_button.isEnabled()
    # A second export to the same file is refused unless the user agrees.
    assert not dialog.start_export(overwrite=False)
    assert "exists" in dialog.status.text()


@pytest.mark.gui
def test_dialog_cancel_leaves_nothing(qtbot, project, out_dir, monkeypatch):
    import soul_studio.ui.export_dialog as module

    real = module.export_project

    def export_after_cancel(*args, **kwargs):
        kwargs["cancel"].wait(10)  # hold the worker until the user has pressed Cancel
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "export_project", export_after_cancel)
    dialog = ExportDialog(project)
    qtbot.addWidget(dialog)
    dialog.set_format("edl")
    assert dialog.relative.isEnabled()
    dialog.path_edit.setText(str(out_dir / "cut.edl"))
    assert dialog.start_export()
    assert dialog.cancel_button.text() == "Cancel"
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: dialog.worker is None, timeout=30_000)
    assert dialog.result is None and "cancelled" in dialog.status.text()
    assert list(out_dir.iterdir()) == []
