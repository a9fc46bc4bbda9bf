"""The Media bin: imported portraits and dialogue recordings, with thumbnails and waveforms.

Files dropped here (or chosen with Import) are added as one undoable edit; items drag
out as file URLs, so the timeline and the Cast panel accept them like files from a
file manager.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QMimeData, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from soul_studio.project.edits_extra import RemoveMediaItems
from soul_studio.project.model import MediaItem
from soul_studio.ui.document import Document
from soul_studio.ui.document_panel import DocumentPanel, header_row, tool_button
from soul_studio.ui.drops import import_media_edit
from soul_studio.ui.media_cache import MediaCache, is_audio, is_image
from soul_studio.ui.theme import icon

TILE = QSize(112, 72)


def waveform_pixmap(peaks: np.ndarray | None, size: QSize = TILE) -> QPixmap:
    """A tile with the whole recording's waveform (or an audio glyph while it loads)."""
    pix = QPixmap(size)
    pix.fill(QColor("#23463b"))
    p = QPainter(pix)
    if peaks is not None and len(peaks):
        w, h = size.width(), size.height()
        cols = np.array_split(np.sqrt(peaks), w)
        p.setPen(QColor("#7fd3b0"))
        for x, chunk in enumerate(cols):
            v = float(chunk.max()) if len(chunk) else 0.0
            half = max(1.0, v * (h / 2 - 6))
            p.drawLine(x, int(h / 2 - half), x, int(h / 2 + half))
    else:
        p.drawPixmap((size.width() - 32) // 2, (size.height() - 32) // 2, icon("audio").pixmap(32, 32))
    p.end()
    return pix


def image_pixmap(image: object, size: QSize = TILE) -> QPixmap:
    pix = QPixmap(size)
    pix.fill(QColor("#2a2b2f"))
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
    if image is not None:
        from PySide6.QtGui import QImage

        assert isinstance(image, QImage)
        scaled = image.scaled(size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
        p.drawImage((size.width() - scaled.width()) // 2, (size.height() - scaled.height()) // 2, scaled)
    else:
        p.drawPixmap((size.width() - 32) // 2, (size.height() - 32) // 2, icon("image").pixmap(32, 32))
    p.end()
    return pix


class BinList(QListWidget):
    files_dropped = Signal(list)

    def __init__(self) -> None:
        super().__init__()
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(TILE)
        self.setGridSize(QSize(TILE.width() + 16, TILE.height() + 36))
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setWordWrap(True)
        self.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(False)

    def mimeData(self, items: list[QListWidgetItem]) -> QMimeData:  # type: ignore[override]
        data = QMimeData()
        data.setUrls([QUrl.fromLocalFile(i.data(Qt.ItemDataRole.UserRole + 1)) for i in items])
        return data

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list"]

    def _paths(self, event: QDragEnterEvent | QDropEvent) -> list[str]:
        if event.source() is self or not event.mimeData().hasUrls():
            return []
        return [u.toLocalFile() for u in event.mimeData().urls()
                if u.isLocalFile() and (is_image(u.toLocalFile()) or is_audio(u.toLocalFile()))]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._paths(event):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragEnterEvent) -> None:  # type: ignore[override]
        if self._paths(event):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        paths = self._paths(event)
        if paths:
            self.files_dropped.emit(paths)
            event.acceptProposedAction()
        else:
            event.ignore()


class MediaBin(QWidget, DocumentPanel):
    """Bin panel with Import and Remove."""

    REFRESH_ON = ("media", "project", "cast", "character", "timeline")

    error = Signal(str, str)

    def __init__(self, document: Document, cache: MediaCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.cache = cache
        self.list = BinList()
        self.list.files_dropped.connect(self.import_files)
        self.list_mode = QToolButton()
        self.list_mode.setText("List")
        self.list_mode.setCheckable(True)
        self.list_mode.setToolTip("Show the bin as a list (name, kind, length) instead of tiles")
        self.list_mode.toggled.connect(self.set_list_view)
        top, self.count = header_row(
            self.list_mode,
            tool_button("import", "Import portraits and audio…", self.import_dialog),
            tool_button("remove", "Remove from the bin (files stay on disk)", self.remove_selected))
        find = QHBoxLayout()
        find.setContentsMargins(8, 0, 8, 4)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search the bin")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(lambda _t: self.refresh())
        self.sort = QComboBox()
        for label, key in (("Name", "name"), ("Kind", "kind"), ("Length", "duration"), ("Imported", "added")):
            self.sort.addItem(label, key)
        self.sort.setToolTip("Sort the bin")
        self.sort.currentIndexChanged.connect(lambda _i: self.refresh())
        find.addWidget(self.search, 1)
        find.addWidget(self.sort)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(top)
        layout.addLayout(find)
        layout.addWidget(self.list)
        self.watch_document(document)
        cache.ready.connect(self._on_ready)
        self.refresh()

    def _on_ready(self, kind: str, _key: str) -> None:
        if kind in ("thumb", "wave"):
            self.refresh()

    def _icon(self, item: MediaItem, path: Path) -> QIcon:
        if item.kind == "image":
            return QIcon(image_pixmap(self.cache.thumbnail(path, 144) if path.exists() else None))
        return QIcon(waveform_pixmap(self.cache.waveform(path) if path.exists() else None))

    def set_list_view(self, on: bool) -> None:
        """List (one row per file, small icons) or tiles."""
        if on:
            self.list.setViewMode(QListView.ViewMode.ListMode)
            self.list.setIconSize(QSize(40, 26))
            self.list.setGridSize(QSize())
            self.list.setWordWrap(False)
        else:
            self.list.setViewMode(QListView.ViewMode.IconMode)
            self.list.setIconSize(TILE)
            self.list.setGridSize(QSize(TILE.width() + 16, TILE.height() + 36))
            self.list.setWordWrap(True)
        self.list.setMovement(QListView.Movement.Static)
        self.refresh()

    def shown_items(self) -> list[MediaItem]:
        """The items the search lets through, in the chosen order."""
        project = self.document.project
        needle = self.search.text().strip().casefold()
        items = [m for m in self.items() if needle in Path(m.path).name.casefold()]
        key = self.sort.currentData()
        order = {m.id: n for n, m in enumerate(project.media)}
        if key == "name":
            items.sort(key=lambda m: Path(m.path).name.casefold())
        elif key == "kind":
            items.sort(key=lambda m: (m.kind, Path(m.path).name.casefold()))
        elif key == "duration":
            items.sort(key=lambda m: (m.duration is None, -(m.duration or 0.0)))
        else:
            items.sort(key=lambda m: order.get(m.id, len(order)))
        return items

    def selected_items(self) -> list[MediaItem]:
        paths = {i.data(Qt.ItemDataRole.UserRole + 1) for i in self.list.selectedItems()}
        project = self.document.project
        return [m for m in self.items() if str(project.resolve(m.path)) in paths]

    def refresh(self) -> None:
        project = self.document.project
        selected = {i.data(Qt.ItemDataRole.UserRole) for i in self.list.selectedItems()}
        self.list.clear()
        listing = self.list.viewMode() == QListView.ViewMode.ListMode
        for m in self.shown_items():
            path = project.resolve(m.path)
            assert path is not None
            label = path.name
            sep = "   ·   " if listing else "\n"
            if m.kind == "audio" and m.duration:
                label += f"{sep}{m.duration:.2f} s"
            if listing:
                label += f"{sep}{'portrait' if m.kind == 'image' else 'dialogue'}"
            if not path.exists():
                label += f"{sep}(missing)"
            item = QListWidgetItem(self._icon(m, path), label)
            item.setData(Qt.ItemDataRole.UserRole, m.id if m in project.media else None)
            item.setData(Qt.ItemDataRole.UserRole + 1, str(path))
            item.setToolTip(str(path))
            self.list.addItem(item)
            item.setSelected(m.id in selected)
        n = self.list.count()
        self.count.setText(f"{n} item{'s' if n != 1 else ''}" if n else "Drop portraits and audio here")

    def items(self) -> list[MediaItem]:
        """The bin's items, then files the scene uses that were never imported (shown, not stored)."""
        project = self.document.project
        items = list(project.media)
        known = {project.resolve(m.path) for m in items}
        used: list[MediaItem] = []
        for c in project.characters:
            p = project.resolve(c.portrait)
            if p is not None and p not in known:
                known.add(p)
                used.append(MediaItem(c.portrait or "", "image"))
        for s in project.timeline_shots():
            p = project.resolve(s.audio)
            if p is not None and p not in known:
                known.add(p)
                used.append(MediaItem(s.audio or "", "audio", duration=s.audio_length))
        return items + used

    def import_files(self, paths: list[str]) -> None:
        edit, problems = import_media_edit(self.document.project, paths)
        if edit is not None:
            self.document.push(edit)
        if problems:
            self.error.emit("Some files could not be imported", "\n".join(problems))

    def import_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Import media", str(self.document.project.folder or ""),
            "Portraits and audio (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff *.wav *.mp3 *.m4a *.flac *.ogg *.aif *.aiff)")
        if paths:
            self.import_files(paths)

    def remove_selected(self) -> None:
        ids = [i.data(Qt.ItemDataRole.UserRole) for i in self.list.selectedItems() if i.data(Qt.ItemDataRole.UserRole)]
        if ids:
            self.document.push(RemoveMediaItems(ids))
