"""The Render queue: every job with progress, ETA and a live preview; cancel, retry, reorder."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from soul_studio.ui.document import Document
from soul_studio.ui.render_controller import RenderController
from soul_studio.ui.theme import COLORS, icon

PREVIEW = QSize(40, 22)
MIN_ROWS = 8  # the queue always shows at least this many jobs
STATUS_COLOURS = {
    "running": COLORS["state_rendering"],
    "queued": COLORS["text_dim"],
    "pending": COLORS["text_dim"],
    "done": COLORS["state_final"],
    "reused": COLORS["state_draft"],
    "failed": COLORS["state_failed"],
    "cancelled": COLORS["text_dim"],
}
COL_SHOT, COL_QUALITY, COL_STATUS, COL_PROGRESS, COL_ETA = range(5)


def format_eta(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "—"
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


class ProgressDelegate(QStyledItemDelegate):
    """Draws the progress column as a thin bar with the percentage."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Any) -> None:
        fraction = index.data(Qt.ItemDataRole.UserRole)
        if fraction is None:
            super().paint(painter, option, index)
            return
        rect: QRect = option.rect.adjusted(6, option.rect.height() // 2 - 5, -6, -(option.rect.height() // 2 - 5))
        painter.save()
        painter.fillRect(rect, QColor("#141517"))
        done = QRect(rect.left(), rect.top(), int(rect.width() * max(0.0, min(1.0, float(fraction)))), rect.height())
        painter.fillRect(done, QColor(index.data(Qt.ItemDataRole.UserRole + 1) or COLORS["accent"]))
        painter.setPen(QColor("#e6e7ea"))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, f"{int(round(float(fraction) * 100))}%")
        painter.restore()


class RenderQueuePanel(QWidget):
    """Jobs of the RenderController, newest last."""

    error = Signal(str, str)

    def __init__(self, document: Document, controller: RenderController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.controller = controller
        self.items: dict[str, QTreeWidgetItem] = {}
        self.priorities: dict[str, int] = {}

        self.engine = QLabel("")
        self.engine.setObjectName("dim")
        top = QHBoxLayout()
        top.setContentsMargins(8, 4, 8, 4)
        top.setSpacing(4)
        top.addWidget(self.engine, 1)
        self.buttons: dict[str, QToolButton] = {}
        for name, tip, slot in (
            ("up", "Raise priority", lambda: self._priority(-5)),
            ("down", "Lower priority", lambda: self._priority(5)),
            ("cancel", "Cancel the selected jobs", self._cancel),
            ("retry", "Render the selected jobs again", self._retry),
        ):
            b = QToolButton()
            b.setIcon(icon(name))
            b.setToolTip(tip)
            b.clicked.connect(slot)
            self.buttons[name] = b
            top.addWidget(b)
        clear = QPushButton("Clear finished")
        clear.clicked.connect(controller.clear_finished)
        top.addWidget(clear)

        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Shot", "Quality", "Status", "Progress", "ETA"])
        self.tree.setRootIsDecorated(False)
        self.tree.setIconSize(PREVIEW)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QTreeWidget.SelectionMode.ExtendedSelection)
        self.tree.setItemDelegateForColumn(COL_PROGRESS, ProgressDelegate(self.tree))
        self.tree.setColumnWidth(COL_SHOT, 180)
        self.tree.setColumnWidth(COL_QUALITY, 58)
        self.tree.setColumnWidth(COL_STATUS, 84)
        self.tree.setColumnWidth(COL_PROGRESS, 96)
        self.tree.setColumnWidth(COL_ETA, 40)
        self.tree.setUniformRowHeights(True)
        row_h = max(PREVIEW.height(), self.tree.fontMetrics().height()) + 6
        self.tree.setMinimumHeight(MIN_ROWS * row_h + self.tree.header().sizeHint().height() + 8)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(top)
        layout.addWidget(self.tree)

        controller.job_changed.connect(self.update_job)
        controller.engine_changed.connect(self._engine_changed)
        self._engine_changed()

    def set_document(self, document: Document) -> None:
        self.document = document
        self.tree.clear()
        self.items.clear()

    def _engine_changed(self) -> None:
        self.engine.setText(self.controller.status_text())

    def _shot_label(self, shot_id: str) -> str:
        project = self.document.project
        shot = project.shots.get(shot_id)
        if shot is None:
            return f"(deleted shot {shot_id})"
        character = project.character(shot.character_id)
        index = project.timeline.index_of(shot_id) + 1 if shot_id in project.timeline.shot_ids() else 0
        who = character.name if character else "—"
        return f"{shot.name or f'Shot {index}'} · {who}"

    def update_job(self, state: Any) -> None:
        if state is None:
            self.rebuild()
            return
        item = self.items.get(state.job_id)
        if item is None:
            item = QTreeWidgetItem()
            item.setData(0, Qt.ItemDataRole.UserRole, state.job_id)
            self.items[state.job_id] = item
            self.tree.addTopLevelItem(item)
            pix = QPixmap(PREVIEW)
            pix.fill(QColor("#101113"))
            item.setIcon(COL_SHOT, QIcon(pix))
        item.setText(COL_SHOT, self._shot_label(state.shot_id))
        item.setText(COL_QUALITY, state.quality)
        status = state.status
        text = {"running": "Rendering", "reused": "Reused take"}.get(status, status.capitalize())
        if status == "failed":
            text = f"Failed: {state.error}"
            item.setToolTip(COL_STATUS, f"{state.error}\n{state.hint}".strip())
        elif state.message and status in ("running", "queued"):
            item.setToolTip(COL_STATUS, state.message)
        item.setText(COL_STATUS, text)
        item.setForeground(COL_STATUS, QColor(STATUS_COLOURS.get(status, COLORS["text"])))
        item.setData(COL_PROGRESS, Qt.ItemDataRole.UserRole, float(state.fraction))
        item.setData(COL_PROGRESS, Qt.ItemDataRole.UserRole + 1, STATUS_COLOURS.get(status))
        item.setText(COL_ETA, format_eta(state.eta_s) if status == "running" else "")
        if state.preview_jpeg:
            image = QImage.fromData(state.preview_jpeg)
            if not image.isNull():
                scaled = image.scaled(PREVIEW, Qt.AspectRatioMode.KeepAspectRatio,
                                      Qt.TransformationMode.SmoothTransformation)
                pix = QPixmap(PREVIEW)
                pix.fill(QColor("#101113"))
                p = QPainter(pix)
                p.drawImage((PREVIEW.width() - scaled.width()) // 2, (PREVIEW.height() - scaled.height()) // 2, scaled)
                p.end()
                item.setIcon(COL_SHOT, QIcon(pix))

    def rebuild(self) -> None:
        self.tree.clear()
        self.items.clear()
        for state in self.controller.jobs.values():
            self.update_job(state)

    def selected_jobs(self) -> list[str]:
        return [i.data(0, Qt.ItemDataRole.UserRole) for i in self.tree.selectedItems()]

    def _cancel(self) -> None:
        for job_id in self.selected_jobs():
            self.controller.cancel(job_id)

    def _retry(self) -> None:
        for job_id in self.selected_jobs():
            self.controller.retry(job_id)

    def _priority(self, delta: int) -> None:
        """Lower numbers run sooner (drafts start at 0, finals at 10)."""
        jobs = self.controller.jobs
        for job_id in self.selected_jobs():
            state = jobs.get(job_id)
            if state is None:
                continue
            base = self.priorities.get(job_id)
            if base is None:
                base = state.job.priority if getattr(state, "job", None) is not None else 0
            self.priorities[job_id] = base + delta
            self.controller.set_priority(job_id, base + delta)
