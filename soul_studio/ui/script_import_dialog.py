"""File ▸ Import Script: pick a screenplay scene, preview its dialogue, choose how to voice it.

The dialog only chooses; the caller runs :func:`soul_studio.script.import_scene` with
the result and pushes the returned edit, so the whole import is one undo step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from soul_studio.project.model import Project
from soul_studio.script import ImportOptions, Scene, Screenplay, ScriptError, espeak_available, parse_screenplay
from soul_studio.script.model import Action, DialogueBlock
from soul_studio.script.scene import prompt_hint

SCRIPT_FILTER = "Screenplays (*.fountain *.fdx *.spmd *.txt);;All files (*)"
AUDIO_FILTER = "Audio (*.wav *.mp3 *.m4a *.flac *.ogg *.aif *.aiff);;All files (*)"
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp);;All files (*)"


@dataclass
class ScriptImportChoice:
    """What the user chose: the parsed script, the scene and the import options."""

    screenplay: Screenplay
    scene: Scene
    options: ImportOptions


class ScriptImportDialog(QDialog):
    """Open a script, choose a scene (dialogue previewed), set temp voices / recording options."""

    def __init__(self, parent: QWidget | None = None, project: Project | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import Script")
        self.resize(900, 560)
        self._project = project
        self._screenplay: Screenplay | None = None
        self._portraits: dict[str, str] = {}

        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("A .fountain or .fdx screenplay")
        self.path_edit.returnPressed.connect(lambda: self.load_script(self.path_edit.text()))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_script)
        top = QHBoxLayout()
        top.addWidget(QLabel("Script:"))
        top.addWidget(self.path_edit, 1)
        top.addWidget(browse)

        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #e06060;")
        self.error_label.hide()

        self.scene_list = QListWidget()
        self.scene_list.currentRowChanged.connect(self._show_scene)
        self.preview = QTreeWidget()
        self.preview.setHeaderLabels(["#", "Character", "Line", "Prompt hint"])
        self.preview.setRootIsDecorated(False)
        self.preview.setColumnWidth(0, 36)
        self.preview.setColumnWidth(1, 120)
        self.preview.setColumnWidth(2, 320)
        self.cast = QTreeWidget()
        self.cast.setHeaderLabels(["Character", "Cast", "Portrait (double-click to choose)"])
        self.cast.setRootIsDecorated(False)
        self.cast.itemDoubleClicked.connect(self._choose_portrait)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.preview)
        right.addWidget(self.cast)
        right.setSizes([320, 140])
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.scene_list)
        split.addWidget(right)
        split.setSizes([280, 620])

        options = QGroupBox("Dialogue audio")
        form = QFormLayout(options)
        self.temp_voices = QCheckBox("Speak lines without a recording with espeak-ng (marked temp)")
        if not espeak_available():
            self.temp_voices.setEnabled(False)
            self.temp_voices.setToolTip("espeak-ng is not installed (apt install espeak-ng / brew install espeak-ng)")
        form.addRow(self.temp_voices)
        self.recording_edit = QLineEdit()
        self.recording_edit.setPlaceholderText("Optional: one recording of the whole scene, split across the lines")
        rec_browse = QPushButton("Browse…")
        rec_browse.clicked.connect(self._browse_recording)
        rec_row = QHBoxLayout()
        rec_row.addWidget(self.recording_edit, 1)
        rec_row.addWidget(rec_browse)
        form.addRow("Recording:", rec_row)
        self.min_silence = QDoubleSpinBox()
        self.min_silence.setRange(0.05, 5.0)
        self.min_silence.setSingleStep(0.05)
        self.min_silence.setValue(0.30)
        self.min_silence.setSuffix(" s")
        self.padding = QDoubleSpinBox()
        self.padding.setRange(0.0, 1.0)
        self.padding.setSingleStep(0.01)
        self.padding.setValue(0.05)
        self.padding.setSuffix(" s")
        pause_row = QHBoxLayout()
        pause_row.addWidget(QLabel("Shortest pause between lines"))
        pause_row.addWidget(self.min_silence)
        pause_row.addWidget(QLabel("Padding"))
        pause_row.addWidget(self.padding)
        pause_row.addStretch(1)
        form.addRow("Split:", pause_row)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Import Scene")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.error_label)
        layout.addWidget(split, 1)
        layout.addWidget(options)
        layout.addWidget(self.buttons)
        self._update_ok()

    # ---------------------------------------------------------------- loading
    def load_script(self, path: str | os.PathLike[str]) -> bool:
        """Parse ``path`` and list its scenes; shows the error (file and line) when it cannot."""
        self.path_edit.setText(os.fspath(path))
        self.scene_list.clear()
        self.preview.clear()
        self.cast.clear()
        self._portraits.clear()
        try:
            self._screenplay = parse_screenplay(path)
        except ScriptError as exc:
            self._screenplay = None
            self.error_label.setText(str(exc))
            self.error_label.show()
            self._update_ok()
            return False
        self.error_label.hide()
        first_with_dialogue = -1
        for row, scene in enumerate(self._screenplay.scenes):
            lines = len(scene.dialogue)
            item = QListWidgetItem(f"{scene.title}  —  {lines} line{'s' if lines != 1 else ''}")
            item.setData(Qt.ItemDataRole.UserRole, scene.index)
            if not lines:
                item.setForeground(Qt.GlobalColor.gray)
            elif first_with_dialogue < 0:
                first_with_dialogue = row
            self.scene_list.addItem(item)
        self.scene_list.setCurrentRow(max(0, first_with_dialogue))
        return True

    def select_scene(self, index: int) -> None:
        """Select the scene whose number is ``index`` (1 = first heading)."""
        for row in range(self.scene_list.count()):
            if self.scene_list.item(row).data(Qt.ItemDataRole.UserRole) == index:
                self.scene_list.setCurrentRow(row)
                return
        raise KeyError(index)

    def current_scene(self) -> Scene | None:
        if self._screenplay is None:
            return None
        row = self.scene_list.currentRow()
        if not 0 <= row < len(self._screenplay.scenes):
            return None
        return self._screenplay.scenes[row]

    def _show_scene(self, _row: int) -> None:
        self.preview.clear()
        self.cast.clear()
        scene = self.current_scene()
        if scene is not None:
            action = ""
            n = 0
            for element in scene.elements:
                if isinstance(element, Action):
                    action = f"{action} {element.text}".strip()
                elif isinstance(element, DialogueBlock):
                    n += 1
                    cue = element.speaker + (f" ({element.extension})" if element.extension else "")
                    if element.dual:
                        cue += " ‖"
                    QTreeWidgetItem(self.preview, [str(n), cue, element.text, prompt_hint(element, action)])
                    action = ""
            for name in scene.characters:
                existing = self._project.character_by_name(name) if self._project is not None else None
                status = "existing" if existing is not None else "new"
                portrait = self._portraits.get(name) or (existing.portrait if existing and existing.portrait else "")
                QTreeWidgetItem(self.cast, [name, status, portrait or "—"])
        self._update_ok()

    # --------------------------------------------------------------- choosing
    def set_portrait(self, name: str, path: str | os.PathLike[str]) -> None:
        """Use the image at ``path`` for cast member ``name`` (every shot of theirs uses it)."""
        self._portraits[name] = os.fspath(path)
        for row in range(self.cast.topLevelItemCount()):
            item = self.cast.topLevelItem(row)
            if item.text(0).casefold() == name.casefold():
                item.setText(2, os.fspath(path))

    def _choose_portrait(self, item: QTreeWidgetItem, _column: int) -> None:
        path, _ = QFileDialog.getOpenFileName(self, f"Portrait of {item.text(0)}", "", IMAGE_FILTER)
        if path:
            self.set_portrait(item.text(0), path)

    def _browse_script(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open Screenplay", self.path_edit.text(), SCRIPT_FILTER)
        if path:
            self.load_script(path)

    def _browse_recording(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Scene Recording", "", AUDIO_FILTER)
        if path:
            self.recording_edit.setText(path)

    def _update_ok(self) -> None:
        scene = self.current_scene()
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(scene and scene.dialogue))

    def options(self) -> ImportOptions:
        recording = self.recording_edit.text().strip()
        return ImportOptions(
            portraits={k: Path(v) for k, v in self._portraits.items()},
            temp_voices=self.temp_voices.isChecked() and self.temp_voices.isEnabled(),
            recording=Path(recording) if recording else None,
            min_silence=float(self.min_silence.value()),
            padding=float(self.padding.value()),
        )

    def choice(self) -> ScriptImportChoice | None:
        """The chosen scene and options, or None while no scene with dialogue is selected."""
        scene = self.current_scene()
        if self._screenplay is None or scene is None or not scene.dialogue:
            return None
        return ScriptImportChoice(self._screenplay, scene, self.options())

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        """Enter in a path field loads it for preview; it never imports at once."""
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and isinstance(self.focusWidget(), QLineEdit):
            if self.focusWidget() is self.path_edit and self._screenplay is not None:
                self.scene_list.setFocus()  # the preview is on screen; Enter there imports
            event.accept()
            return
        super().keyPressEvent(event)

    def accept(self) -> None:
        recording = self.recording_edit.text().strip()
        if recording and not Path(recording).is_file():
            self.error_label.setText(f"{recording}: recording not found")
            self.error_label.show()
            return
        if self.choice() is None:
            return
        super().accept()


def ask_script_import(
    parent: QWidget | None = None, project: Project | None = None, path: str | os.PathLike[str] | None = None
) -> ScriptImportChoice | None:
    """Run the dialog modally; the choice, or None when cancelled."""
    dialog = ScriptImportDialog(parent, project)
    if path is not None:
        dialog.load_script(path)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return dialog.choice()
