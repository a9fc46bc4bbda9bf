"""Preferences → Models: the registered model folders, their status, and what the presets need in GPU memory.

A page widget for the Preferences dialog. It works on one
:class:`~soul_studio.models.registry.ModelRegistry` (the same ``models.json`` that
``soul-studio models`` edits): add a folder (checked first), remove one (its files stay),
check one or all (file list, missing parts, shapes), and a VRAM table for the draft and
final presets with and without CPU offload against the detected GPU or common card sizes.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
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

from soul_studio.models.check import ModelCheck, check_folder, human_size
from soul_studio.models.registry import KINDS, ModelRegistry, RegistryError
from soul_studio.models.settings import StudioPaths
from soul_studio.models.vram import CARD_SIZES_GB, ModelSizes, detect_gpus, estimate_all

MODEL_COLUMNS = ("Name", "Kind", "Size", "Status", "Folder")


class AddModelDialog(QDialog):
    """Name, kind and folder of a model to register."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add Model")
        self.setMinimumWidth(520)
        form = QFormLayout(self)
        self.name = QLineEdit("soul")
        form.addRow("Name", self.name)
        self.kind = QComboBox()
        for kind, what in KINDS.items():
            self.kind.addItem(kind, kind)
            self.kind.setItemData(self.kind.count() - 1, what, Qt.ItemDataRole.ToolTipRole)
        form.addRow("Kind", self.kind)
        row = QHBoxLayout()
        self.folder = QLineEdit()
        row.addWidget(self.folder, 1)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row.addWidget(browse)
        form.addRow("Folder", row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Model folder", self.folder.text() or str(Path.home()))
        if chosen:
            self.folder.setText(chosen)


class ModelsPage(QWidget):
    """The Models page of Preferences. ``models_changed`` fires after add or remove."""

    models_changed = Signal()

    def __init__(self, paths: StudioPaths | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.paths = paths or StudioPaths.default()
        self.registry: ModelRegistry | None = None
        self.checks: dict[str, ModelCheck] = {}
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>Model folders</b>"))
        self.table = QTableWidget(0, len(MODEL_COLUMNS))
        self.table.setHorizontalHeaderLabels(MODEL_COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(len(MODEL_COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._show_selected)
        layout.addWidget(self.table, 2)
        self.problems_label = QLabel("")  # entries of models.json that could not be read (kept in the file)
        self.problems_label.setObjectName("warning")
        self.problems_label.setWordWrap(True)
        self.problems_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problems_label.hide()
        layout.addWidget(self.problems_label)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add…")
        self.add_button.clicked.connect(self._add_clicked)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self._remove_clicked)
        self.check_button = QPushButton("Check")
        self.check_button.setToolTip("validate files, tensor shapes and hashes of the selected model (or all)")
        self.check_button.clicked.connect(self._check_clicked)
        for b in (self.add_button, self.remove_button, self.check_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.registry_label = QLabel("")
        self.registry_label.setObjectName("dim")
        buttons.addWidget(self.registry_label)
        layout.addLayout(buttons)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setMaximumBlockCount(2000)
        layout.addWidget(self.details, 1)
        layout.addWidget(QLabel("<b>GPU memory estimate</b>"))
        self.gpu_label = QLabel("")
        self.gpu_label.setObjectName("dim")
        layout.addWidget(self.gpu_label)
        self.vram = QTableWidget(0, 0)
        self.vram.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.vram.verticalHeader().setVisible(False)
        layout.addWidget(self.vram, 1)
        from soul_studio.ui.model_catalogue import CataloguePanel

        layout.addWidget(QLabel("<b>Known models</b> — what to download, licences, where each goes"))
        self.catalogue = CataloguePanel()
        layout.addWidget(self.catalogue, 2)
        self.refresh()

    # ------------------------------------------------------------- public
    def refresh(self) -> None:
        """Reload the registry, re-check every folder quickly, and rebuild both tables."""
        try:
            self.registry = ModelRegistry(self.paths)
        except RegistryError as exc:
            self.details.setPlainText(str(exc))
            self.registry = ModelRegistry(self.paths)
        self.registry_label.setText(str(self.registry.file))
        self._show_problems(self.registry.problems)
        self.checks = {}
        for name in self.registry.names():
            entry = self.registry.get(name)
            self.checks[name] = check_folder(entry.path, entry.kind, check_shapes=False)
        self._fill_models()
        self._fill_vram()

    def add_model(self, name: str, kind: str, folder: str | Path) -> ModelCheck:
        """Check ``folder`` and register it when it is usable; returns the check (shown in the details)."""
        check = check_folder(folder, kind)
        self.details.setPlainText(self._describe(name, check))
        if check.ok:
            assert self.registry is not None
            try:
                self.registry.add(name, kind, folder, fingerprint=check.fingerprint, size_bytes=check.size_bytes)
            except RegistryError as exc:
                self.details.appendPlainText(f"\nnot registered: {exc}")
                return check
            self.refresh()
            self.select(name)
            self.models_changed.emit()
        else:
            self.details.appendPlainText("\nnot registered: fix the problems above")
        return check

    def _show_problems(self, problems: list[str]) -> None:
        """Entries the registry skipped: named here, so a hand-edited models.json can be fixed."""
        if not problems:
            self.problems_label.hide()
            self.problems_label.setText("")
            return
        count = f"{len(problems)} entr{'y' if len(problems) == 1 else 'ies'}"
        self.problems_label.setText(
            f"⚠ {count} of models.json could not be read; they are kept in the file as they are. "
            "Fix or remove them there, then reopen Preferences:\n" + "\n".join(f"• {p}" for p in problems))
        self.problems_label.show()

    def remove_model(self, name: str) -> None:
        assert self.registry is not None
        entry = self.registry.remove(name)
        self.refresh()
        self.details.setPlainText(f"removed {name}; its files stay in {entry.path}")
        self.models_changed.emit()

    def check_models(self, names: list[str] | None = None) -> dict[str, ModelCheck]:
        """Full check (with tensor shapes) of ``names`` (default: all); results go to the details box."""
        assert self.registry is not None
        results = {}
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            for name in names or self.registry.names():
                entry = self.registry.get(name)
                check = check_folder(entry.path, entry.kind)
                if entry.fingerprint and check.ok and check.fingerprint != entry.fingerprint:
                    check.warnings.append("the folder changed since it was added")
                results[name] = check
        finally:
            QGuiApplication.restoreOverrideCursor()
        self.checks.update(results)
        self._fill_models()
        self.details.setPlainText("\n\n".join(self._describe(n, c) for n, c in results.items()) or "no models registered")
        return results

    def selected_name(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return item.text() if item else None

    def select(self, name: str) -> None:
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).text() == name:
                self.table.selectRow(row)
                return

    # ------------------------------------------------------------- tables
    def _fill_models(self) -> None:
        assert self.registry is not None
        names = self.registry.names()
        self.table.setRowCount(len(names))
        for row, name in enumerate(names):
            entry = self.registry.get(name)
            check = self.checks.get(name)
            status = "not checked"
            if check is not None:
                status = "ok" if check.ok else f"{len(check.errors)} problem(s)"
                if check.missing:
                    status += f" · missing {', '.join(check.missing)}"
            size = human_size(check.size_bytes) if check is not None else "?"
            for col, text in enumerate((name, entry.kind, size, status, entry.path)):
                item = QTableWidgetItem(text)
                if col == 3 and check is not None and not check.ok:
                    item.setForeground(Qt.GlobalColor.red)
                self.table.setItem(row, col, item)
        self.table.resizeColumnsToContents()
        self.remove_button.setEnabled(bool(names))

    def _fill_vram(self) -> None:
        usable = [c for c in self.checks.values() if c.ok]
        sizes = ModelSizes.from_checks(usable)
        gpus = detect_gpus()
        if gpus:
            targets = [(f"GPU {g.index}: {g.name} ({g.total_gib:.0f} GB)", g.total_gib) for g in gpus]
            self.gpu_label.setText(f"Sizes from {sizes.source}; compared with the detected GPU.")
        else:
            targets = [(f"{gb} GB card", float(gb)) for gb in CARD_SIZES_GB]
            self.gpu_label.setText(f"No CUDA GPU: sizes from {sizes.source}, compared with common card sizes.")
        headers = ["Preset", "CPU offload", "Estimate", *[t[0] for t in targets]]
        estimates = estimate_all(sizes)
        self.vram.setColumnCount(len(headers))
        self.vram.setHorizontalHeaderLabels(headers)
        self.vram.setRowCount(len(estimates))
        for row, est in enumerate(estimates):
            cells = [est.preset, "yes" if est.offload else "no", f"{est.total_gib:.1f} GB"]
            cells += ["fits" if est.fits(size) else "too big" for _label, size in targets]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col >= 3:
                    item.setForeground(Qt.GlobalColor.darkGreen if text == "fits" else Qt.GlobalColor.red)
                if col == 2:
                    item.setToolTip("\n".join(f"{k}: {v:.2f} GB" for k, v in est.breakdown.items()))
                self.vram.setItem(row, col, item)
        self.vram.resizeColumnsToContents()

    # ------------------------------------------------------------ actions
    def _describe(self, name: str, check: ModelCheck) -> str:
        lines = [f"{name} [{check.kind}] {'ok' if check.ok else 'has problems'}: {check.folder}",
                 f"  {len(check.files)} files, {human_size(check.size_bytes)}"]
        lines += [f"  {part}: {n:,} parameters ({check.dtypes.get(part, '?')})"
                  for part, n in sorted(check.parameters.items())]
        if check.missing:
            lines.append(f"  missing: {', '.join(check.missing)}")
        lines += [f"  error: {e}" for e in check.errors]
        lines += [f"  warning: {w}" for w in check.warnings]
        if check.fingerprint:
            lines.append(f"  fingerprint: {check.fingerprint[:16]}…")
        return "\n".join(lines)

    def _show_selected(self) -> None:
        name = self.selected_name()
        if name and name in self.checks:
            self.details.setPlainText(self._describe(name, self.checks[name]))

    def _add_clicked(self) -> None:
        dialog = AddModelDialog(self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        name, folder = dialog.name.text().strip(), dialog.folder.text().strip()
        if not name or not folder:
            self.details.setPlainText("give the model a name and a folder")
            return
        self.add_model(name, str(dialog.kind.currentData()), folder)

    def _remove_clicked(self) -> None:
        name = self.selected_name()
        if name:
            self.remove_model(name)

    def _check_clicked(self) -> None:
        name = self.selected_name()
        self.check_models([name] if name else None)
