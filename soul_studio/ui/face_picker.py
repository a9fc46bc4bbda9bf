"""The Cast panel's face picker: the portrait with every face found, click one to make it speak.

The faces come from the sketch engine's own analysis (MediaPipe's face mesh, cached per
picture), run on a worker thread so the panel never waits for it; the worker only puts
its answer in a queue the panel polls, so it never touches a widget Qt may already have
deleted (a window closed while a portrait is analysed). Faces are numbered
left to right from 1, as the render log and the command line name them; the face that
speaks is outlined in the accent colour.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from soul_studio.ui.gui_gc import GuiThreadCollector

Faces = list[tuple[tuple[float, float, float, float], float]]  # (x, y, w, h) in image pixels, confidence


def find_faces(path: Path) -> tuple[Faces, int | None]:
    """Every face in the portrait at ``path`` and the one the engine would pick by itself."""
    from engine.backends.sketch.face import analyse_portrait
    from engine.media import load_portrait

    analysis = analyse_portrait(load_portrait(path))
    faces = [((b.x, b.y, b.w, b.h), float(c)) for b, c in analysis.faces]
    return faces, analysis.face_index


def _analyse(path: Path, answers: queue.SimpleQueue[tuple[str, Faces, int | None]]) -> None:
    """Worker thread: the faces of ``path`` into ``answers`` (none for an unreadable picture)."""
    try:
        faces, auto = find_faces(path)
    except Exception:  # noqa: BLE001 - an unreadable picture simply shows no faces
        faces, auto = [], None
    answers.put((str(path), faces, auto))


class FacePicker(QWidget):
    """Shows one portrait and its faces; emits :attr:`face_chosen` (0-based) on a click."""

    face_chosen = Signal(int)
    analysed = Signal(str)  # the portrait path whose faces just arrived

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        GuiThreadCollector.hold_for(self)  # the face analysis allocates on its own thread
        self.setMinimumHeight(120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self._path: Path | None = None
        self._image: QImage | None = None
        self._faces: Faces = []
        self._auto: int | None = None
        self._chosen: int | None = None
        self._known: dict[str, tuple[Faces, int | None]] = {}
        self._answers: queue.SimpleQueue[tuple[str, Faces, int | None]] = queue.SimpleQueue()
        self._waiting = 0
        self._poll = QTimer(self)
        self._poll.setInterval(30)
        self._poll.timeout.connect(self._collect)

    # -------------------------------------------------------------- state
    @property
    def faces(self) -> Faces:
        return list(self._faces)

    @property
    def speaking(self) -> int | None:
        """The face that speaks: the chosen one, else the engine's own pick."""
        if self._chosen is not None and 0 <= self._chosen < len(self._faces):
            return self._chosen
        return self._auto

    def set_portrait(self, path: Path | None, chosen: int | None) -> None:
        """Show ``path`` with face ``chosen`` (0-based, or None for automatic) outlined."""
        self._chosen = chosen
        if path == self._path:
            self.update()
            return
        self._path = path
        self._faces, self._auto = [], None
        self._image = QImage(str(path)) if path is not None and path.exists() else None
        if self._image is not None and self._image.isNull():
            self._image = None
        if path is not None and self._image is not None:
            key = str(path)
            if key in self._known:
                self._faces, self._auto = self._known[key]
            else:
                self._waiting += 1
                self._poll.start()
                answers = self._answers  # the worker holds the queue, never the widget
                threading.Thread(target=_analyse, args=(path, answers), name="face-picker", daemon=True).start()
        self.updateGeometry()
        self.update()

    def _collect(self) -> None:
        while True:
            try:
                key, faces, auto = self._answers.get_nowait()
            except queue.Empty:
                break
            self._waiting -= 1
            self._arrived(key, faces, auto)
        if self._waiting <= 0:
            self._poll.stop()

    def _arrived(self, key: str, faces: Faces, auto: int | None) -> None:
        self._known[key] = (faces, auto)
        if self._path is not None and str(self._path) == key:
            self._faces, self._auto = faces, auto
            self.update()
        self.analysed.emit(key)

    # ---------------------------------------------------------- geometry
    def sizeHint(self) -> QSize:
        return QSize(240, 180)

    def hasHeightForWidth(self) -> bool:
        return self._image is not None

    def heightForWidth(self, width: int) -> int:
        if self._image is None or self._image.width() == 0:
            return 120
        return max(80, min(320, round(width * self._image.height() / self._image.width())))

    def _placement(self) -> tuple[float, float, float]:
        """Scale and offset that fit the image into the widget."""
        assert self._image is not None
        iw, ih = self._image.width(), self._image.height()
        s = min(self.width() / max(1, iw), self.height() / max(1, ih))
        return s, (self.width() - iw * s) / 2, (self.height() - ih * s) / 2

    def face_rect(self, index: int) -> QRectF:
        """Where face ``index`` is drawn, in widget coordinates."""
        s, ox, oy = self._placement()
        x, y, w, h = self._faces[index][0]
        return QRectF(ox + x * s, oy + y * s, w * s, h * s)

    def face_at(self, point: QPointF) -> int | None:
        if self._image is None:
            return None
        hits = [i for i in range(len(self._faces)) if self.face_rect(i).adjusted(-4, -4, 4, 4).contains(point)]
        if not hits:
            return None
        return min(hits, key=lambda i: (self.face_rect(i).center() - point).manhattanLength())

    # ------------------------------------------------------------- events
    def mousePressEvent(self, event: QMouseEvent) -> None:
        index = self.face_at(event.position())
        if index is not None and event.button() == Qt.MouseButton.LeftButton:
            self.face_chosen.emit(index)
            event.accept()
            return
        super().mousePressEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        if self._image is None:
            painter.setPen(QColor("#888"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "no portrait")
            return
        s, ox, oy = self._placement()
        painter.drawImage(QRectF(ox, oy, self._image.width() * s, self._image.height() * s), self._image)
        font = QFont(painter.font())
        font.setBold(True)
        painter.setFont(font)
        speaking = self.speaking
        for i in range(len(self._faces)):
            rect = self.face_rect(i)
            colour = QColor("#ffb347") if i == speaking else QColor(255, 255, 255, 170)
            painter.setPen(QPen(colour, 2.5 if i == speaking else 1.2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(rect)
            if len(self._faces) > 1:
                tag = QRectF(rect.left(), rect.top() - 16, 18, 16)
                painter.fillRect(tag, colour)
                painter.setPen(QColor("#111"))
                painter.drawText(tag, Qt.AlignmentFlag.AlignCenter, str(i + 1))


__all__ = ["FacePicker", "find_faces"]
