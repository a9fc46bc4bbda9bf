"""The Models page of Preferences and the first-run dialog, driven with pytest-qt."""

from __future__ import annotations

import pytest

from soul_studio.models.registry import ModelRegistry
from soul_studio.models.settings import StudioPaths

pytestmark = pytest.mark.gui


@pytest.fixture
def page(qtbot):
    from soul_studio.ui.preferences_models import ModelsPage

    widget = ModelsPage(StudioPaths.default())
    qtbot.addWidget(widget)
    return widget


def cell(table, row: int, col: int) -> str:
    return table.item(row, col).text()


def test_page_lists_checks_adds_and_removes(page, qtbot, adapter_folder, light_vae_folder):
    assert page.table.rowCount() == 0
    with qtbot.waitSignal(page.models_changed):
        assert page.add_model("voice", "soul-adapter", adapter_folder).ok
    page.add_model("fast-vae", "light-vae", light_vae_folder)
    assert [cell(page.table, r, 0) for r in range(2)] == ["fast-vae", "voice"]
    assert cell(page.table, 1, 3) == "ok" and "KB" in cell(page.table, 1, 2)
    assert ModelRegistry(StudioPaths.default()).names() == ["fast-vae", "voice"]
    (light_vae_folder / "config.json").unlink()
    results = page.check_models()
    assert not results["fast-vae"].ok and results["voice"].ok
    assert cell(page.table, 0, 3).startswith("1 problem(s)") and "config.json" in cell(page.table, 0, 3)
    assert "missing: config.json" in page.details.toPlainText()
    page.select("fast-vae")
    page.remove_button.click()
    assert page.table.rowCount() == 1 and ModelRegistry(StudioPaths.default()).names() == ["voice"]


def test_bad_folder_is_not_registered(page, adapter_folder):
    import torch

    torch.save({"x": torch.ones(1)}, adapter_folder / "weights.ckpt")
    check = page.add_model("bad", "soul-adapter", adapter_folder)
    assert not check.ok and page.table.rowCount() == 0
    text = page.details.toPlainText()
    assert "weights.ckpt is a pickle" in text and "not registered" in text


def test_vram_table_compares_presets_with_cards(page):
    assert page.vram.rowCount() == 4
    headers = [page.vram.horizontalHeaderItem(c).text() for c in range(page.vram.columnCount())]
    assert headers[:3] == ["Preset", "CPU offload", "Estimate"] and "24 GB card" in headers
    rows = {(cell(page.vram, r, 0), cell(page.vram, r, 1)): r for r in range(4)}
    final_no, final_off = rows[("final", "no")], rows[("final", "yes")]
    col24 = headers.index("24 GB card")
    assert cell(page.vram, final_no, col24) == "too big" and cell(page.vram, final_off, col24) == "fits"
    assert "No CUDA GPU" in page.gpu_label.text()


def test_first_run_dialog_registers_a_model_or_opens_the_demo(qtbot, tiny_soul, tmp_path):
    from soul_studio.ui.first_run import FirstRunDialog, needs_first_run

    paths = StudioPaths.default()
    assert needs_first_run(paths)
    dialog = FirstRunDialog(paths)
    qtbot.addWidget(dialog)
    assert not dialog.model_button.isEnabled()
    dialog.folder_edit.setText(str(tmp_path / "nowhere"))
    dialog.model_button.click()
    assert "cannot be used" in dialog.status.text() and dialog.result() == 0 and needs_first_run(paths)
    dialog.folder_edit.setText(str(tiny_soul))
    dialog.model_button.click()
    assert dialog.choice == "model" and dialog.model_folder == tiny_soul
    assert ModelRegistry(paths).get("soul").kind == "wan-ti2v-5b"
    assert not needs_first_run(paths)
    other = FirstRunDialog(StudioPaths(tmp_path / "fresh"))
    qtbot.addWidget(other)
    other.demo_button.click()
    assert other.choice == "demo" and not needs_first_run(StudioPaths(tmp_path / "fresh"))


def test_entries_the_registry_skipped_are_named_on_the_page_and_kept(qtbot, config_dir, tmp_path, adapter_folder):
    import json

    from soul_studio.ui.preferences_models import ModelsPage

    bad = {"name": 5, "kind": "wan-ti2v-5b", "path": "/x"}
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "models.json").write_text(json.dumps(
        {"version": 1, "models": [bad, {"name": "good", "kind": "light-vae", "path": str(tmp_path)}]}))
    page = ModelsPage(StudioPaths.default())
    qtbot.addWidget(page)
    page.show()
    assert [cell(page.table, r, 0) for r in range(page.table.rowCount())] == ["good"]
    assert page.problems_label.isVisible()
    text = page.problems_label.text()
    assert "1 entry of models.json could not be read" in text and "entry 1 skipped" in text
    assert page.add_model("voice", "soul-adapter", adapter_folder).ok  # saving keeps the bad entry
    assert bad in json.loads((config_dir / "models.json").read_text())["models"]
    assert page.problems_label.isVisible()
    (config_dir / "models.json").write_text(json.dumps({"version": 1, "models": []}))
    page.refresh()
    assert not page.problems_label.isVisible()
