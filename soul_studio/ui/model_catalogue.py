"""The catalogue of known models as a widget: what to download, from where, its licence and GPU needs.

Shown in Preferences → Models and from the first-run dialog. Selecting a row shows the
exact download command for the chosen model folder; licences that forbid commercial use,
or that could not be confirmed, are marked in the table and spelled out in the details.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from soul_studio.models.catalogue import CatalogueEntry, describe, entries, infinitetalk_vram_table

COLUMNS = ("Model", "Backend", "Licence", "Source")


class CataloguePanel(QWidget):
    """Table of catalogue entries with their download instructions."""

    def __init__(self, backend: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entries: list[CatalogueEntry] = entries(backend)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Model folder"))
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("where the backend's models go, e.g. ~/models/infinitetalk")
        self.folder.textChanged.connect(self._show_selected)
        row.addWidget(self.folder, 1)
        self.copy_button = QPushButton("Copy Command")
        self.copy_button.setToolTip("copy the download command of the selected model")
        self.copy_button.clicked.connect(self.copy_command)
        row.addWidget(self.copy_button)
        layout.addLayout(row)
        self.table = QTableWidget(len(self.entries), len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for r, e in enumerate(self.entries):
            licence = e.licence + ("  ⚠ non-commercial" if e.commercial_use is False else
                                   "  ⚠ unconfirmed" if e.commercial_use is None else "")
            for c, text in enumerate((e.name + ("" if e.required else " (optional)"), e.backend, licence, e.repo_id)):
                item = QTableWidgetItem(text)
                if c == 2 and e.flagged:
                    item.setForeground(Qt.GlobalColor.red if e.commercial_use is False else Qt.GlobalColor.darkYellow)
                    item.setToolTip(e.licence_note)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self.table.itemSelectionChanged.connect(self._show_selected)
        layout.addWidget(self.table, 2)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        layout.addWidget(self.details, 2)
        if self.entries:
            self.table.selectRow(0)

    def selected(self) -> CatalogueEntry | None:
        rows = self.table.selectionModel().selectedRows()
        return self.entries[rows[0].row()] if rows else None

    def select_key(self, key: str) -> None:
        for r, e in enumerate(self.entries):
            if e.key == key:
                self.table.selectRow(r)
                return

    def command(self) -> str:
        e = self.selected()
        return e.download_command(self.folder.text().strip() or "MODEL_FOLDER") if e is not None else ""

    def copy_command(self) -> None:
        text = self.command()
        if text:
            QGuiApplication.clipboard().setText(text)

    def _show_selected(self) -> None:
        e = self.selected()
        if e is None:
            self.details.setPlainText("")
            return
        text = describe(e, self.folder.text().strip() or "MODEL_FOLDER")
        if e.vram_presets and e.backend == "infinitetalk":
            lines = ["", "GPU memory (estimates, one speaker):"]
            for row in infinitetalk_vram_table(1):
                picks = "; ".join(f"{card}: {what}" for card, what in row["cards"].items())
                lines.append(f"  {row['preset']}: {picks}")
            text += "\n".join(lines)
        self.details.setPlainText(text)


class CatalogueDialog(QDialog):
    """The catalogue on its own (from the first-run dialog)."""

    def __init__(self, backend: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models to Download")
        self.setMinimumSize(760, 520)
        layout = QVBoxLayout(self)
        intro = QLabel("Soul Studio never downloads weights itself. Fetch these with the Hugging Face command "
                       "line (<code>pip install huggingface_hub</code>), then choose the folder in Preferences → "
                       "Models or register it with <code>soul-studio models add</code>.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.panel = CataloguePanel(backend)
        layout.addWidget(self.panel, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)
