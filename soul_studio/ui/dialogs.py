"""Dialogs: new project, preferences, keyboard shortcuts, errors, relink, recovery."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.timebase import SUPPORTED_FPS
from soul_studio.ui.settings import BACKENDS, StudioSettings

RESOLUTIONS = (
    ("1920 × 1080 (HD 16:9)", 1920, 1080),
    ("1280 × 720 (720p 16:9)", 1280, 720),
    ("1080 × 1920 (vertical 9:16)", 1080, 1920),
    ("1080 × 1080 (square)", 1080, 1080),
    ("3840 × 2160 (UHD)", 3840, 2160),
)


def _path_row(edit: QLineEdit, parent: QWidget, title: str, folder: bool = True) -> QHBoxLayout:
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    button = QPushButton("Browse…")

    def browse() -> None:
        if folder:
            chosen = QFileDialog.getExistingDirectory(parent, title, edit.text())
        else:
            chosen, _ = QFileDialog.getSaveFileName(parent, title, edit.text(), "Soul Studio project (*.soulproj)")
        if chosen:
            edit.setText(chosen)

    button.clicked.connect(browse)
    row.addWidget(button)
    return row


class NewProjectDialog(QDialog):
    """Name, frame rate, resolution and where to save the new scene."""

    def __init__(self, parent: QWidget | None = None, folder: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New Project")
        self.setMinimumWidth(480)
        form = QFormLayout()
        form.setVerticalSpacing(9)
        self.name = QLineEdit("Untitled Scene")
        form.addRow("Name", self.name)
        self.fps = QComboBox()
        for rate in SUPPORTED_FPS:
            self.fps.addItem(f"{rate:g} fps", rate)
        self.fps.setCurrentIndex(list(SUPPORTED_FPS).index(24.0))
        form.addRow("Frame rate", self.fps)
        self.resolution = QComboBox()
        for label, w, h in RESOLUTIONS:
            self.resolution.addItem(label, (w, h))
        form.addRow("Resolution", self.resolution)
        self.location = QLineEdit(str(folder or Path.home()))
        form.addRow("Folder", _path_row(self.location, self, "Project folder"))
        note = QLabel("The project file, its takes/ and its backups are written in this folder.")
        note.setObjectName("dim")
        note.setWordWrap(True)
        form.addRow(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def values(self) -> dict[str, object]:
        w, h = self.resolution.currentData()
        name = self.name.text().strip() or "Untitled Scene"
        safe = "".join(c if c.isalnum() or c in " -_" else "_" for c in name).strip() or "scene"
        return {"name": name, "fps": float(self.fps.currentData()), "width": w, "height": h,
                "path": Path(self.location.text()).expanduser() / f"{safe}.soulproj"}


class PreferencesDialog(QDialog):
    """Model folder, default backend, automatic drafts, cache folder, GPU."""

    def __init__(self, settings: StudioSettings, parent: QWidget | None = None, gpus: list[str] | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle("Preferences")
        self.setMinimumWidth(640)
        form = QFormLayout()
        form.setVerticalSpacing(9)
        self.backend = QComboBox()
        labels = {"sketch": "Sketch — CPU animatic, no weights", "soul": "Soul — Wan2.2 on GPU",
                  "infinitetalk": "InfiniteTalk — lip-sync from released weights, GPU",
                  "test": "Test pattern (diagnostics)"}
        for name in BACKENDS:
            self.backend.addItem(labels[name], name)
        self.backend.setCurrentIndex(max(0, self.backend.findData(settings.default_backend)))
        form.addRow("Default backend", self.backend)
        self.models = QLineEdit(settings.model_folder)
        self.models.setPlaceholderText("Folder holding the Soul model weights")
        form.addRow("Model folder", _path_row(self.models, self, "Model folder"))
        self.cache = QLineEdit(str(settings.cache_folder))
        form.addRow("Cache folder", _path_row(self.cache, self, "Cache folder"))
        self.gpu = QComboBox()
        for i, name in enumerate(gpus or ["First available GPU (or CPU)"]):
            self.gpu.addItem(name, i)
        self.gpu.setCurrentIndex(min(settings.gpu_index, self.gpu.count() - 1))
        form.addRow("GPU", self.gpu)
        self.auto_draft = QCheckBox("Render a draft automatically after each edit")
        self.auto_draft.setChecked(settings.auto_draft)
        form.addRow("Drafts", self.auto_draft)
        self.delay = QSpinBox()
        self.delay.setRange(100, 10_000)
        self.delay.setSingleStep(100)
        self.delay.setSuffix(" ms")
        self.delay.setValue(settings.draft_delay_ms)
        form.addRow("Draft delay", self.delay)
        self.autosave = QSpinBox()
        self.autosave.setRange(5, 3600)
        self.autosave.setSuffix(" s")
        self.autosave.setValue(settings.autosave_seconds)
        form.addRow("Autosave every", self.autosave)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        general = QWidget()
        general.setLayout(form)
        tabs = QTabWidget()
        tabs.addTab(general, "General")
        try:
            from soul_studio.models.settings import StudioPaths
            from soul_studio.ui.preferences_models import ModelsPage

            self.models_page: QWidget | None = ModelsPage(StudioPaths.default())
            tabs.addTab(self.models_page, "Models")
        except (OSError, ValueError):  # an unreadable registry must not block Preferences
            self.models_page = None
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        layout.addWidget(buttons)

    def apply(self) -> None:
        s = self.settings
        s.default_backend = self.backend.currentData()
        s.model_folder = self.models.text().strip()
        s.cache_folder = self.cache.text().strip()
        s.gpu_index = int(self.gpu.currentData())
        s.auto_draft = self.auto_draft.isChecked()
        s.draft_delay_ms = self.delay.value()
        s.autosave_seconds = self.autosave.value()
        s.sync()


class ShortcutsDialog(QDialog):
    """Every menu action with a shortcut, grouped by menu."""

    def __init__(self, groups: dict[str, list[tuple[str, str]]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard Shortcuts")
        self.resize(520, 620)
        tree = QTreeWidget()
        tree.setHeaderLabels(["Action", "Shortcut"])
        tree.setColumnWidth(0, 300)
        for group, rows in groups.items():
            top = QTreeWidgetItem([group, ""])
            top.setFirstColumnSpanned(True)
            tree.addTopLevelItem(top)
            for name, keys in rows:
                top.addChild(QTreeWidgetItem([name, keys]))
            top.setExpanded(True)
        self.tree = tree
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(tree)
        layout.addWidget(buttons)


def show_error(parent: QWidget | None, title: str, error: BaseException | str) -> None:
    """A clear error box: what failed, the file, and what to do (from the error's hint)."""
    reason = getattr(error, "reason", None) or str(error)
    path = getattr(error, "path", None)
    hint = getattr(error, "hint", "")
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    box.setText(f"<b>{title}</b>")
    details = reason if path is None else f"{reason}\n\nFile: {path}"
    if hint:
        details += f"\n\nWhat to do: {hint}"
    box.setInformativeText(details)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.exec()


class RelinkDialog(QDialog):
    """Lists missing media; Locate picks a folder where files with the same names are searched."""

    def __init__(self, missing: list[Path], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Relink Media")
        self.resize(620, 360)
        self.missing = list(missing)
        self.found: dict[Path, Path] = {}
        label = QLabel(f"{len(missing)} file{'s are' if len(missing) != 1 else ' is'} missing. "
                       "Choose a folder to search for files with the same names.")
        label.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Missing file", "Found at"])
        self.tree.setColumnWidth(0, 300)
        for p in missing:
            self.tree.addTopLevelItem(QTreeWidgetItem([str(p), ""]))
        locate = QPushButton("Search Folder…")
        locate.clicked.connect(self._locate)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Relink")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.tree)
        row = QHBoxLayout()
        row.addWidget(locate)
        row.addStretch(1)
        row.addWidget(buttons)
        layout.addLayout(row)

    def search(self, folder: Path) -> None:
        for i, p in enumerate(self.missing):
            hits = list(folder.rglob(p.name))
            if hits:
                self.found[p] = hits[0]
                self.tree.topLevelItem(i).setText(1, str(hits[0]))

    def _locate(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Search for missing media in")
        if folder:
            self.search(Path(folder))
