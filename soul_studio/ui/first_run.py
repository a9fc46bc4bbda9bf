"""The first-run welcome: where the soul model lives, and a way into the demo scene.

Shown once (a marker file in the settings folder records that it was seen). Choosing a
model folder checks it and registers it in the model manager as ``soul``; the studio
works without one (the sketch engine), so the editor can also just open the demo.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from soul_studio.models.settings import StudioPaths

MARKER = "first-run-done"
MODEL_NAME = "soul"
FOLDER_KINDS = {"wan-ti2v-5b": "soul (Wan2.2-TI2V-5B)", "infinitetalk": "infinitetalk (Wan2.1-I2V-14B-480P)"}


def needs_first_run(paths: StudioPaths) -> bool:
    """True until the welcome has been seen once."""
    return not (paths.config_dir / MARKER).exists()


def mark_first_run_done(paths: StudioPaths) -> None:
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    (paths.config_dir / MARKER).write_text("1\n")


def _icon_path() -> Path | None:
    from soul_studio.resources import resources_dir

    for candidate in (resources_dir() / "icons" / "soul-studio.svg",
                      Path(__file__).resolve().parents[2] / "installer" / "soul-studio.png"):
        if candidate.is_file():
            return candidate
    return None


class FirstRunDialog(QDialog):
    """Welcome dialog. After ``exec()``, ``choice`` is ``"demo"``, ``"model"`` or ``"skip"``."""

    def __init__(self, paths: StudioPaths, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.paths = paths
        self.choice = "skip"
        self.model_folder: Path | None = None
        self.setWindowTitle("Welcome to Soul Studio")
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        icon = _icon_path()
        if icon is not None:
            pic = QLabel()
            pic.setPixmap(QPixmap(str(icon)).scaled(72, 72, Qt.AspectRatioMode.KeepAspectRatio,
                                                    Qt.TransformationMode.SmoothTransformation))
            top.addWidget(pic, 0, Qt.AlignmentFlag.AlignTop)
        intro = QLabel(
            "<b>Soul Studio turns storyboarded dialogue shots into talking digital humans.</b><br><br>"
            "Renders work at once with the <i>sketch</i> engine on any CPU. With a CUDA GPU, the "
            "<i>infinitetalk</i> engine gives lip-synced video from released weights (Wan2.1-I2V-14B-480P with "
            "the InfiniteTalk adapters) and the <i>soul</i> engine runs Wan2.2-TI2V-5B: choose the folder that "
            "holds its <code>model_index.json</code>. <b>Models to Download…</b> lists every file, its source "
            "and licence. You can change this later in Preferences → Models."
        )
        intro.setWordWrap(True)
        top.addWidget(intro, 1)
        layout.addLayout(top)
        row = QHBoxLayout()
        self.kind = QComboBox()
        for kind, label in FOLDER_KINDS.items():
            self.kind.addItem(label, kind)
        row.addWidget(self.kind)
        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText("model folder (optional)")
        row.addWidget(self.folder_edit, 1)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row.addWidget(browse)
        layout.addLayout(row)
        self.status = QLabel("")
        self.status.setObjectName("dim")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        buttons = QHBoxLayout()
        self.demo_button = QPushButton("Open the Demo Scene")
        self.demo_button.setDefault(True)
        self.demo_button.clicked.connect(lambda: self._finish("demo"))
        self.model_button = QPushButton("Use This Model Folder")
        self.model_button.setEnabled(False)
        self.model_button.clicked.connect(self._use_model)
        skip = QPushButton("Start Empty")
        skip.clicked.connect(lambda: self._finish("skip"))
        self.catalogue_button = QPushButton("Models to Download…")
        self.catalogue_button.clicked.connect(self.show_catalogue)
        buttons.addWidget(self.catalogue_button)
        self.folder_edit.textChanged.connect(lambda text: self.model_button.setEnabled(bool(text.strip())))
        buttons.addWidget(skip)
        buttons.addStretch(1)
        buttons.addWidget(self.model_button)
        buttons.addWidget(self.demo_button)
        layout.addLayout(buttons)

    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Soul model folder", self.folder_edit.text() or str(Path.home()))
        if chosen:
            self.folder_edit.setText(chosen)

    def _use_model(self) -> None:
        """Check the folder (fast: files and headers) and register it; problems are shown, not raised."""
        from soul_studio.models.check import check_folder, human_size
        from soul_studio.models.registry import ModelRegistry, RegistryError

        folder = Path(self.folder_edit.text().strip()).expanduser()
        kind = str(self.kind.currentData())
        check = check_folder(folder, kind, check_shapes=False)
        if not check.ok:
            first = check.errors[0]
            more = f" (and {len(check.errors) - 1} more)" if len(check.errors) > 1 else ""
            self.status.setText(f"This folder cannot be used yet: {first}{more}")
            return
        try:
            ModelRegistry(self.paths).add(MODEL_NAME if kind == "wan-ti2v-5b" else kind, kind, folder,
                                          fingerprint=check.fingerprint, size_bytes=check.size_bytes, replace=True)
        except RegistryError as exc:
            self.status.setText(str(exc))
            return
        self.model_folder = folder
        self.status.setText(f"Registered {folder} ({human_size(check.size_bytes)}).")
        self._finish("model")

    def show_catalogue(self) -> None:
        """What to download for each engine, with sources and licences."""
        from soul_studio.ui.model_catalogue import CatalogueDialog

        dialog = CatalogueDialog(parent=self)
        dialog.panel.folder.setText(self.folder_edit.text().strip())
        dialog.exec()

    def _finish(self, choice: str) -> None:
        self.choice = choice
        mark_first_run_done(self.paths)
        self.accept()
