"""Markers as a list (name, colour, timecode, note) and a timecode field to type a jump into.

Markers live in the model (``project.timeline.markers``), so export writes the same
names and colours into the interchange files. Every change is an undo step.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QLineEdit, QMenu, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from engine.timebase import frames_to_timecode, timecode_to_frames
from soul_studio.project.edits import RemoveMarker
from soul_studio.project.edits_extra import SetMarkerFields
from soul_studio.ui.document import Document
from soul_studio.ui.document_panel import DocumentPanel
from soul_studio.ui.state import EditorState

# the colours every NLE's marker palette has (and OTIO names), in that order
MARKER_COLOURS = {"Yellow": "#e0c050", "Red": "#e5484d", "Orange": "#e0803a", "Green": "#5fb37a",
                  "Cyan": "#4fc0c0", "Blue": "#4f8fd8", "Purple": "#b36fc7", "Pink": "#d05a7a"}


def _swatch(colour: str) -> QIcon:
    pix = QPixmap(12, 12)
    pix.fill(QColor(colour))
    return QIcon(pix)


def start_frames(document: Document) -> int:
    try:
        return timecode_to_frames(document.project.settings.start_timecode, document.project.fps)
    except ValueError:
        return 0


def parse_jump(text: str, document: Document, here: int) -> int | None:
    """A typed position: ``01:00:05:12`` (timecode), ``+12`` / ``-12`` (frames from here), ``120`` (frame)."""
    text = text.strip()
    if not text:
        return None
    fps = document.project.fps
    try:
        if text[0] in "+-":
            return max(0, here + int(text))
        if text.isdigit():
            return int(text)
        parts = text.replace(";", ":").replace(".", ":").split(":")
        parts = ["00"] * (4 - len(parts)) + parts  # "5:12" is five seconds and twelve frames
        frames = timecode_to_frames(":".join(p.zfill(2) for p in parts), fps)
    except ValueError:
        return None
    base = start_frames(document)
    return max(0, frames - base if frames >= base else frames)


class TimecodeField(QLineEdit):
    """Shows the playhead's timecode; type a timecode (or +/- frames) and Enter to jump there."""

    jumped = Signal(int)

    def __init__(self, document: Document, editor: EditorState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document, self.editor = document, editor
        self.setObjectName("timecode")
        self.setFixedWidth(118)
        self.setToolTip("Type a timecode (01:00:05:12), +/- frames or a frame number, then Enter")
        self.returnPressed.connect(self._jump)
        editor.playhead_changed.connect(self.show_frame)
        self.show_frame(editor.playhead)

    def show_frame(self, frame: int) -> None:
        if not self.hasFocus():
            self.setText(frames_to_timecode(frame + start_frames(self.document), self.document.project.fps))

    def _jump(self) -> None:
        frame = parse_jump(self.text(), self.document, self.editor.playhead)
        if frame is None:
            self.setStyleSheet("color: #e5484d;")
            return
        self.setStyleSheet("")
        self.editor.set_playhead(frame)
        self.clearFocus()
        self.show_frame(frame)
        self.jumped.emit(frame)


class MarkerList(QWidget, DocumentPanel):
    """The Markers panel: double-click jumps, names and notes edit in place, right-click for colour."""

    REFRESH_ON = ("markers", "project")

    COLUMNS = ("Name", "Timecode", "Note")

    def __init__(self, document: Document, editor: EditorState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document, self.editor = document, editor
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(self.COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setColumnWidth(0, 130)
        self.tree.itemDoubleClicked.connect(self._double_clicked)
        self.tree.itemChanged.connect(self._edited)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._menu)
        self._filling = False
        self._menu_open: QMenu | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree)
        self.watch_document(document)
        self.refresh()

    def refresh(self) -> None:
        self._filling = True
        try:
            self.tree.clear()
            project = self.document.project
            base = start_frames(self.document)
            for m in project.timeline.markers:
                item = QTreeWidgetItem([m.name, frames_to_timecode(base + m.frame, project.fps), m.note])
                item.setIcon(0, _swatch(m.colour))
                item.setData(0, Qt.ItemDataRole.UserRole, m.id)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
                self.tree.addTopLevelItem(item)
        finally:
            self._filling = False

    def item_for(self, marker_id: str) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            if self.tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole) == marker_id:
                return self.tree.topLevelItem(i)
        return None

    def _marker(self, item: QTreeWidgetItem):  # noqa: ANN202 - a Marker or None
        marker_id = item.data(0, Qt.ItemDataRole.UserRole)
        return next((m for m in self.document.project.timeline.markers if m.id == marker_id), None)

    def _double_clicked(self, item: QTreeWidgetItem, column: int) -> None:
        marker = self._marker(item)
        if marker is not None and column == 1:
            self.editor.set_playhead(marker.frame)

    def _edited(self, item: QTreeWidgetItem, column: int) -> None:
        if self._filling:
            return
        marker = self._marker(item)
        if marker is None or column not in (0, 2):
            return
        key = "name" if column == 0 else "note"
        value = item.text(column)
        if getattr(marker, key) != value:
            self.document.push(SetMarkerFields(marker.id, {key: value}, text="Rename Marker"))

    def set_colour(self, marker_id: str, colour: str) -> None:
        self.document.push(SetMarkerFields(marker_id, {"colour": colour}, text="Marker Colour"))

    def _menu(self, pos: object) -> None:
        item = self.tree.itemAt(pos)  # type: ignore[arg-type]
        marker = self._marker(item) if item is not None else None
        if marker is None:
            return
        menu = QMenu(self)
        menu.addAction("Go to Marker", lambda: self.editor.set_playhead(marker.frame))
        colours = menu.addMenu("Colour")
        for name, value in MARKER_COLOURS.items():
            colours.addAction(_swatch(value), name, lambda v=value, mid=marker.id: self.set_colour(mid, v))
        menu.addSeparator()
        menu.addAction("Remove Marker", lambda: self.document.push(RemoveMarker(marker.id)))
        self._menu_open = menu
        menu.popup(self.tree.viewport().mapToGlobal(pos))  # type: ignore[arg-type]
