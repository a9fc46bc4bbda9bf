"""The Import Script dialog: scenes listed, dialogue previewed, options and portraits returned."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtWidgets import QDialogButtonBox  # noqa: E402

from soul_studio.project import Character, Project  # noqa: E402
from soul_studio.ui.script_import_dialog import ScriptImportDialog  # noqa: E402

pytestmark = pytest.mark.gui

SCRIPT = """\
INT. ATTIC - NIGHT

Dust.

EXT. ROOF - NIGHT

Wind. PIA clutches a chimney.

PIA
(shouting)
Hold the ladder!

JONAS ^
I am holding it!

PIA (CONT'D)
Then hold it still.
"""


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "roof.fountain"
    path.write_text(SCRIPT, encoding="utf-8")
    return path


def test_scene_preview_and_choice(qtbot, script: Path, tmp_path: Path):
    project = Project(name="p")
    project.characters.append(Character(name="Jonas", portrait="jonas.png"))
    dialog = ScriptImportDialog(project=project)
    qtbot.addWidget(dialog)
    assert dialog.load_script(script)
    assert dialog.scene_list.count() == 2
    assert dialog.current_scene().index == 2  # the first scene with dialogue is preselected
    preview = [[dialog.preview.topLevelItem(i).text(c) for c in range(4)] for i in range(dialog.preview.topLevelItemCount())]
    assert preview == [
        ["1", "Pia ‖", "Hold the ladder!", "Wind. PIA clutches a chimney. (shouting)"],
        ["2", "Jonas ‖", "I am holding it!", ""],
        ["3", "Pia", "Then hold it still.", ""],
    ]
    cast = [[dialog.cast.topLevelItem(i).text(c) for c in range(3)] for i in range(dialog.cast.topLevelItemCount())]
    assert cast == [["Pia", "new", "—"], ["Jonas", "existing", "jonas.png"]]
    face = tmp_path / "pia.png"
    dialog.set_portrait("Pia", face)
    assert dialog.cast.topLevelItem(0).text(2) == str(face)
    dialog.min_silence.setValue(0.5)
    choice = dialog.choice()
    assert choice.scene.heading == "EXT. ROOF - NIGHT"
    assert choice.options.portraits == {"Pia": face}
    assert choice.options.min_silence == 0.5 and choice.options.recording is None


def test_empty_scene_cannot_be_imported(qtbot, script: Path):
    dialog = ScriptImportDialog()
    qtbot.addWidget(dialog)
    dialog.load_script(script)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert ok.isEnabled()
    dialog.select_scene(1)
    assert dialog.preview.topLevelItemCount() == 0
    assert not ok.isEnabled() and dialog.choice() is None


def test_broken_script_shows_file_and_line(qtbot, tmp_path: Path):
    bad = tmp_path / "bad.fountain"
    bad.write_text("INT. A - DAY\n\n/* never closed\n", encoding="utf-8")
    dialog = ScriptImportDialog()
    qtbot.addWidget(dialog)
    assert not dialog.load_script(bad)
    assert f"{bad}:3: boneyard" in dialog.error_label.text()
    assert dialog.scene_list.count() == 0 and dialog.choice() is None


def test_missing_recording_keeps_the_dialog_open(qtbot, script: Path, tmp_path: Path):
    dialog = ScriptImportDialog()
    qtbot.addWidget(dialog)
    dialog.load_script(script)
    dialog.recording_edit.setText(str(tmp_path / "nope.wav"))
    dialog.accept()
    assert dialog.result() == 0 and "recording not found" in dialog.error_label.text()
    take = tmp_path / "take.wav"
    take.write_bytes(b"RIFF")
    dialog.recording_edit.setText(str(take))
    dialog.accept()
    assert dialog.result() == 1 and dialog.choice().options.recording == take
