"""File ▸ Export: choose a format, where and what to export, then run it with progress.

The export runs on a :class:`QThread` so the studio stays responsive; Cancel sets the
export's cancel token and the exporter removes its partial output.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QThread, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from engine.backends.base import CancelToken
from engine.timebase import frames_to_timecode
from soul_studio.export import FORMAT_LABELS, FORMATS, INTERCHANGE_FORMATS, ExportOptions, export_project, output_path
from soul_studio.export.options import ExportCancelled, ExportError, ExportResult
from soul_studio.project.model import Project
from soul_studio.ui.gui_gc import GuiThreadCollector

MEDIA_CODECS = {"prores422hq": "ProRes 422 HQ", "prores422lt": "ProRes 422 LT", "prores4444": "ProRes 4444",
                "mp4": "H.264 (MP4)"}


class ExportWorker(QThread):
    """Runs one export off the UI thread and reports through signals."""

    progressed = Signal(float, str)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, project: Project, fmt: str, path: Path, options: ExportOptions,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        GuiThreadCollector.hold_for(self)  # the export allocates a lot on its own thread
        self.project, self.fmt, self.path, self.options = project, fmt, path, options
        self.token = CancelToken()

    def cancel(self) -> None:
        self.token.cancel()

    def run(self) -> None:  # noqa: D401 - QThread entry point
        try:
            result = export_project(self.project, self.fmt, self.path, self.options,
                                    progress=self.progressed.emit, cancel=self.token)
        except ExportCancelled:
            self.cancelled.emit()
        except ExportError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - anything else is shown, never crashes the studio
            self.failed.emit(f"{exc.__class__.__name__}: {exc}")
        else:
            self.succeeded.emit(result)


class ExportDialog(QDialog):
    """Export the timeline; ``selection`` (shot ids) and ``in_out`` (frames) offer those ranges."""

    export_finished = Signal(object)  # ExportResult
    render_missing_requested = Signal(list)  # shot ids whose take in use is not a fresh final

    def __init__(self, project: Project, parent: QWidget | None = None, selection: Sequence[str] | None = None,
                 in_out: tuple[int, int] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.project = project
        self.selection = [s for s in (selection or []) if s in project.shots]
        self.in_out = in_out if in_out is not None and in_out[1] > in_out[0] else None
        self.worker: ExportWorker | None = None
        self.result: ExportResult | None = None
        self._build()
        self._format_changed()
        for button in (self.range_all, self.range_in_out, self.range_selection):
            button.toggled.connect(lambda _on: self.check())
        self.check()

    # ----------------------------------------------------------------- layout
    def _build(self) -> None:
        form = QFormLayout()
        self.format_combo = QComboBox()
        for key in FORMATS:
            self.format_combo.addItem(FORMAT_LABELS[key], key)
        self.format_combo.currentIndexChanged.connect(self._format_changed)
        form.addRow("Format", self.format_combo)

        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("where to write the export")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        form.addRow("Output", row)

        self.range_all = QRadioButton("Whole timeline")
        self.range_in_out = QRadioButton(self._in_out_label())
        self.range_selection = QRadioButton(f"Selected shots ({len(self.selection)})")
        self.range_group = QButtonGroup(self)
        ranges = QVBoxLayout()
        for button in (self.range_all, self.range_in_out, self.range_selection):
            self.range_group.addButton(button)
            ranges.addWidget(button)
        self.range_in_out.setEnabled(self.in_out is not None)
        self.range_selection.setEnabled(bool(self.selection))
        self.range_all.setChecked(True)
        form.addRow("Range", ranges)

        self.missing_combo = QComboBox()
        self.missing_combo.addItem("Portrait still", "portrait")
        self.missing_combo.addItem("Slate (name, character, line)", "slate")
        form.addRow("Shots without a take", self.missing_combo)
        self.burn_in = QCheckBox("Burn in shot name and timecode")
        form.addRow("", self.burn_in)

        self.media_combo = QComboBox()
        self.media_combo.addItem("Export a clip per shot", "export")
        self.media_combo.addItem("Link the takes on disk", "takes")
        self.media_combo.currentIndexChanged.connect(self._format_changed)
        form.addRow("Timeline media", self.media_combo)
        self.codec_combo = QComboBox()
        for key, label in MEDIA_CODECS.items():
            self.codec_combo.addItem(label, key)
        form.addRow("Clip codec", self.codec_combo)
        self.relative = QCheckBox("Link media by relative path")
        form.addRow("", self.relative)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.report = QPlainTextEdit()
        self.report.setReadOnly(True)
        self.report.setMaximumHeight(110)
        self.report.hide()

        self.warnings_label = QLabel("")
        self.warnings_label.setWordWrap(True)
        self.warnings_label.setObjectName("warnings")
        self.render_missing_button = QPushButton("Render Missing Finals")
        self.render_missing_button.setToolTip("Queue final renders of the shots below that lack a fresh final")
        self.render_missing_button.clicked.connect(self._render_missing)
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self._cancel_or_close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.render_missing_button)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.export_button)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.warnings_label)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.report)
        layout.addLayout(buttons)
        self.resize(560, 0)

    def _in_out_label(self) -> str:
        if self.in_out is None:
            return "In to out (no marks set)"
        base = _start_frames(self.project)
        a, b = self.in_out
        return f"In to out ({frames_to_timecode(base + a, self.project.fps)} – {frames_to_timecode(base + b, self.project.fps)})"

    # ---------------------------------------------------------------- choices
    @property
    def fmt(self) -> str:
        return str(self.format_combo.currentData())

    def set_format(self, fmt: str) -> None:
        self.format_combo.setCurrentIndex(self.format_combo.findData(fmt))

    def _format_changed(self) -> None:
        interchange = self.fmt in INTERCHANGE_FORMATS
        self.media_combo.setEnabled(interchange)
        self.relative.setEnabled(interchange)
        self.codec_combo.setEnabled(interchange and self.media_combo.currentData() == "export")
        text = self.path_edit.text().strip()
        if text:
            self.path_edit.setText(str(_with_suffix(self.fmt, Path(text))))
        elif self.project.folder is not None:
            name = self.project.name.replace("/", "_") or "export"
            self.path_edit.setText(str(output_path(self.fmt, self.project.folder / "exports" / name)))

    def _browse(self) -> None:
        current = self.path_edit.text().strip() or str(self.project.folder or Path.home())
        if self.fmt == "png":
            chosen = QFileDialog.getSaveFileName(self, "Export image sequence into folder", current)[0]
        else:
            chosen = QFileDialog.getSaveFileName(self, "Export", current, f"{FORMAT_LABELS[self.fmt]} (*{_suffix(self.fmt)})")[0]
        if chosen:
            self.path_edit.setText(str(_with_suffix(self.fmt, Path(chosen))))

    def options(self) -> ExportOptions:
        """The export options the dialog's controls describe."""
        opts = ExportOptions(
            burn_in=self.burn_in.isChecked(), missing=str(self.missing_combo.currentData()),
            relative_paths=self.relative.isChecked(), media=str(self.media_combo.currentData()),
            media_codec=str(self.codec_combo.currentData()),
        )
        if self.range_in_out.isChecked() and self.in_out is not None:
            opts.frame_range = self.in_out
        elif self.range_selection.isChecked() and self.selection:
            opts.shots = list(self.selection)
        return opts

    # ----------------------------------------------------------------- checks
    def check(self) -> list[str]:
        """Show what this export would warn about before it starts (stale, missing, draft-only takes)."""
        from soul_studio.export.cut import plan_cut
        from soul_studio.render.takes import missing_finals

        try:
            cut = plan_cut(self.project, self.options())
        except ExportError as exc:
            self.warnings_label.setText(f"⚠ {exc}")
            self.render_missing_button.setEnabled(False)
            self.missing_ids: list[str] = []
            return [str(exc)]
        shown = {seg.shot.id for seg in cut.shots() if seg.shot is not None}
        self.missing_ids = missing_finals(self.project, shown)
        self.render_missing_button.setEnabled(bool(self.missing_ids))
        self.render_missing_button.setText(f"Render Missing Finals ({len(self.missing_ids)})")
        self.warnings_label.setText("\n".join(f"⚠ {w}" for w in cut.warnings) or "✓ Every shot has a fresh final take.")
        return list(cut.warnings)

    def _render_missing(self) -> None:
        if self.missing_ids:
            self.render_missing_requested.emit(list(self.missing_ids))
            self.status.setText(f"Queued finals of {len(self.missing_ids)} shots; export when they are done.")

    # ------------------------------------------------------------------- run
    def start_export(self, overwrite: bool | None = None) -> bool:
        """Start exporting; asks before replacing an existing output unless ``overwrite`` is given."""
        if self.worker is not None:
            return False
        text = self.path_edit.text().strip()
        if not text:
            self.status.setText("Choose where to write the export.")
            return False
        path = output_path(self.fmt, Path(text))
        if not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        opts = self.options()
        if path.exists():
            if overwrite is None:
                answer = QMessageBox.question(self, "Replace?", f"{path.name} already exists. Replace it?",
                                              QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                              QMessageBox.StandardButton.No)
                overwrite = answer == QMessageBox.StandardButton.Yes
            if not overwrite:
                self.status.setText("Not exported: the file exists.")
                return False
            opts.overwrite = True
        self.report.hide()
        self.progress.setValue(0)
        self.status.setText("Exporting…")
        self._set_running(True)
        # the export reads a snapshot: editing goes on while it runs
        self.worker = ExportWorker(snapshot(self.project), self.fmt, path, opts, self)
        self.worker.progressed.connect(self._on_progress)
        self.worker.succeeded.connect(self._on_done)
        self.worker.failed.connect(self._on_failed)
        self.worker.cancelled.connect(self._on_cancelled)
        self.worker.finished.connect(self._on_thread_finished)
        self.worker.start()
        return True

    def cancel_export(self) -> None:
        if self.worker is not None:
            self.status.setText("Cancelling…")
            self.worker.cancel()

    def _cancel_or_close(self) -> None:
        if self.worker is not None:
            self.cancel_export()
        else:
            self.reject()

    def _set_running(self, running: bool) -> None:
        self.export_button.setEnabled(not running)
        for w in (self.format_combo, self.path_edit, self.missing_combo, self.burn_in, self.media_combo):
            w.setEnabled(not running)
        self.cancel_button.setText("Cancel" if running else "Close")

    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(round(fraction * 1000)))
        if message:
            self.status.setText(message)

    def _on_done(self, result: ExportResult) -> None:
        self.result = result
        self.progress.setValue(1000)
        self.status.setText(f"Exported {result.path.name}: {result.frames} frames from {result.start_timecode} "
                            f"in {result.elapsed_s:.1f} s.")
        if result.warnings:
            self.report.setPlainText("\n".join(f"⚠ {w}" for w in result.warnings))
            self.report.show()
        self.export_finished.emit(result)

    def _on_failed(self, message: str) -> None:
        self.status.setText(f"Export failed: {message}")

    def _on_cancelled(self) -> None:
        self.progress.setValue(0)
        self.status.setText("Export cancelled; nothing was written.")

    def _on_thread_finished(self) -> None:
        if self.worker is not None:
            self.worker.deleteLater()
        self.worker = None
        self._set_running(False)
        self._format_changed()

    def closeEvent(self, event: object) -> None:  # noqa: N802 - Qt override
        if self.worker is not None:
            self.worker.cancel()
            self.worker.wait(10_000)
        super().closeEvent(event)  # type: ignore[arg-type]

    def reject(self) -> None:
        if self.worker is not None:
            self.cancel_export()
            return
        super().reject()


def snapshot(project: Project) -> Project:
    """An independent copy of the project as it is now (through its own file format)."""
    from soul_studio.project.serialize import project_from_dict, project_to_dict

    copy = project_from_dict(project_to_dict(project))
    copy.path = project.path
    return copy


def _suffix(fmt: str) -> str:
    from soul_studio.export.options import SUFFIXES

    return SUFFIXES.get(fmt, "")


def _with_suffix(fmt: str, path: Path) -> Path:
    """Swap a known export suffix for the chosen format's (a folder for PNG has none)."""
    from soul_studio.export.options import SUFFIXES

    known = {s for s in SUFFIXES.values() if s}
    if path.suffix.lower() in known:
        path = path.with_suffix("")
    return output_path(fmt, path)


def _start_frames(project: Project) -> int:
    from soul_studio.export.cut import parse_timecode

    try:
        return parse_timecode(project.settings.start_timecode, project.fps)
    except ExportError:
        return 0
