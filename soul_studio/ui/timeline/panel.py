"""The timeline panel: tool bar, timecode ruler, track headers and the view."""

from __future__ import annotations

from PySide6.QtCore import QLineF, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QContextMenuEvent, QFont, QMouseEvent, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.timebase import frames_to_timecode, timecode_base, timecode_to_frames
from soul_studio.project.edits import RemoveMarker, SetTrackSwitch
from soul_studio.ui.document import Document
from soul_studio.ui.markers import TimecodeField
from soul_studio.ui.media_cache import MediaCache
from soul_studio.ui.state import EditorState
from soul_studio.ui.theme import color, icon, mono_font
from soul_studio.ui.timeline.layout import MAX_PPF, MIN_PPF
from soul_studio.ui.timeline.view import TimelineView

RULER_H = 30
HEADER_W = 132


def start_offset(document: Document) -> int:
    """Frames of the project's start timecode (01:00:00:00 by default)."""
    try:
        return timecode_to_frames(document.project.settings.start_timecode, document.project.fps)
    except ValueError:
        return 0


class TimeRuler(QWidget):
    """Timecode ticks at the project rate, markers, in/out range and the playhead head."""

    def __init__(self, view: TimelineView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.setFixedHeight(RULER_H)
        self.setMouseTracking(True)
        self._font = mono_font(10)
        view.horizontalScrollBar().valueChanged.connect(self.update)
        view.zoom_changed.connect(self.update)
        view.editor.playhead_changed.connect(self.update)
        view.editor.in_out_changed.connect(self.update)
        view.document.changed.connect(self.update)

    @staticmethod
    def _step(fps: float, ppf: float) -> tuple[int, int]:
        """(major, minor) tick spacing in frames: labels ≥ 90 px apart, on whole seconds when they are coarser."""
        base = timecode_base(fps)
        divisors = [d for d in range(1, base + 1) if base % d == 0]
        candidates = divisors + [base * k for k in (2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)]
        major = next((c for c in candidates if c * ppf >= 90), candidates[-1])
        minor = next((d for d in range(1, major + 1) if major % d == 0 and d * ppf >= 8), major)
        return major, minor

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), color("ruler_bg"))
        view = self.view
        layout = view.layout
        project = view.project
        scroll = view.horizontalScrollBar().value()
        w = self.width()
        first = layout.frame_at(scroll)
        last = layout.frame_at(scroll + w) + 1
        major, minor = self._step(project.fps, layout.ppf)
        offset = start_offset(view.document)
        rng = view.editor.in_out()
        if rng is not None:
            x0, x1 = layout.x(rng[0]) - scroll, layout.x(rng[1]) - scroll
            p.fillRect(QRectF(x0, 0, x1 - x0, self.height()), QColor(224, 121, 58, 60))
        p.setFont(self._font)
        h = self.height()
        majors: list[QLineF] = []
        minors: list[QLineF] = []
        labels: list[tuple[float, int]] = []
        f = (first // minor) * minor
        while f <= last:
            x = layout.x(f) - scroll
            if f % major == 0:
                majors.append(QLineF(x, h - 12, x, h))
                labels.append((x, f))
            else:
                minors.append(QLineF(x, h - 5, x, h))
            f += minor
        p.setPen(QPen(color("ruler_tick")))
        p.drawLines(majors + minors)
        p.setPen(color("ruler_text"))
        for x, frame in labels:
            p.drawText(QPointF(x + 4, 13), frames_to_timecode(frame + offset, project.fps))
        for m in project.timeline.markers:
            x = layout.x(m.frame) - scroll
            if -10 <= x <= w + 10:
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(QColor(m.colour))
                p.drawPolygon(QPolygonF([QPointF(x - 5, 16), QPointF(x + 5, 16), QPointF(x + 5, 22),
                                         QPointF(x, 27), QPointF(x - 5, 22)]))
        x = layout.x(view.editor.playhead) - scroll
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(color("playhead"))
        p.drawPolygon(QPolygonF([QPointF(x - 6, self.height() - 11), QPointF(x + 6, self.height() - 11),
                                 QPointF(x + 6, self.height() - 6), QPointF(x, self.height()),
                                 QPointF(x - 6, self.height() - 6)]))
        p.setPen(QPen(color("divider")))
        p.drawLine(0, self.height() - 1, w, self.height() - 1)
        p.end()

    def _scrub(self, event: QMouseEvent) -> None:
        scroll = self.view.horizontalScrollBar().value()
        self.view.editor.set_playhead(self.view.layout.frame_at(event.position().x() + scroll))

    def marker_at(self, x: float) -> str | None:
        """Id of the marker whose flag is under viewport x (within 6 px)."""
        scroll = self.view.horizontalScrollBar().value()
        for m in self.view.project.timeline.markers:
            if abs(self.view.layout.x(m.frame) - scroll - x) <= 6:
                return m.id
        return None

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        marker_id = self.marker_at(event.pos().x())
        if marker_id is None:
            return
        menu = QMenu(self)
        remove = menu.addAction("Remove Marker")
        remove.triggered.connect(lambda: self.view.document.push(RemoveMarker(marker_id)))
        menu.exec(event.globalPos())

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        self._scrub(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._scrub(event)


SWITCHES = (("mute", "M", "#e0a040"), ("solo", "S", "#e0d050"), ("lock", "L", "#e5484d"))


class TrackHeaders(QWidget):
    """Track names on the left, aligned with the rows of the view, with mute / solo / lock switches."""

    def __init__(self, view: TimelineView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.setFixedWidth(HEADER_W)
        view.verticalScrollBar().valueChanged.connect(self.update)
        view.document.changed.connect(self.update)

    def switch_rect(self, key: str, switch: str) -> QRectF:
        """Where the M/S/L button of track ``key`` is (widget coordinates)."""
        row = self.view.layout.rows_by_key.get(key)
        if row is None:
            return QRectF()
        names = [s for s, _, _ in SWITCHES if row.kind != "video" or s == "lock"]
        if switch not in names:
            return QRectF()
        i = len(names) - 1 - names.index(switch)
        dy = -self.view.verticalScrollBar().value()
        return QRectF(self.width() - 22 - 20 * i, row.y + dy + 5, 17, 15)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), color("track_header"))
        dy = -self.view.verticalScrollBar().value()
        bold = QFont()
        bold.setPixelSize(12)
        bold.setBold(True)
        small = QFont()
        small.setPixelSize(11)
        tiny = QFont()
        tiny.setPixelSize(9)
        tiny.setBold(True)
        timeline = self.view.project.timeline
        for row in self.view.layout.rows:
            rect = QRectF(0, row.y + dy, self.width() - 1, row.h)
            p.fillRect(rect, QColor("#2a2b2f"))
            p.fillRect(QRectF(0, row.y + dy, 3, row.h), QColor(row.colour))
            p.setPen(QColor("#e6e7ea"))
            p.setFont(bold)
            p.drawText(rect.adjusted(10, 4, -6, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, row.tag)
            p.setFont(small)
            p.setPen(QColor("#8b8e95"))
            name_rect = rect.adjusted(10, 20, -6, 0) if row.h > 34 else rect.adjusted(34, 4, -64, 0)
            p.drawText(name_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, row.name)
            switches = timeline.switches(row.key)
            p.setFont(tiny)
            for name, letter, tint in SWITCHES:
                box = self.switch_rect(row.key, name)
                if box.isNull():
                    continue
                on = bool(getattr(switches, name))
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(QColor(tint) if on else QColor("#3a3c41"))
                p.drawRoundedRect(box, 2, 2)
                p.setPen(QColor("#101113") if on else QColor("#b8bbc1"))
                p.drawText(box, Qt.AlignmentFlag.AlignCenter, letter)
        p.setPen(color("divider"))
        p.drawLine(self.width() - 1, 0, self.width() - 1, self.height())
        p.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        for row in self.view.layout.rows:
            for name, _, _ in SWITCHES:
                if self.switch_rect(row.key, name).contains(event.position()):
                    current = bool(getattr(self.view.project.timeline.switches(row.key), name))
                    self.view.document.push(SetTrackSwitch(row.key, name, not current,
                                                           text=f"{name.title()} {row.tag}"))
                    self.update()
                    return


class TimelinePanel(QWidget):
    """Everything in the Timeline dock."""

    def __init__(self, document: Document, editor: EditorState, cache: MediaCache,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = TimelineView(document, editor, cache)
        self.ruler = TimeRuler(self.view)
        self.headers = TrackHeaders(self.view)

        bar = QWidget()
        bar.setObjectName("timelineBar")
        bar.setStyleSheet("#timelineBar { background-color: #1d1e21; border-bottom: 1px solid #0f1011; }")
        row = QHBoxLayout(bar)
        row.setContentsMargins(8, 3, 8, 3)
        row.setSpacing(4)
        self.timecode = TimecodeField(document, editor)
        self.timecode.jumped.connect(lambda _f: self.view.setFocus())
        row.addWidget(self.timecode)
        row.addSpacing(10)
        self.tool_buttons: dict[str, QToolButton] = {}
        row.addStretch(1)
        self.summary = QLabel("")
        self.summary.setObjectName("dim")
        row.addWidget(self.summary)
        row.addSpacing(12)
        self.zoom_out = self._tool("zoom-out", "Zoom out (Ctrl+-)", lambda: self.view.zoom(1 / 1.5))
        row.addWidget(self.zoom_out)
        self.zoom_slider = QSlider(Qt.Orientation.Horizontal)
        self.zoom_slider.setRange(0, 1000)
        self.zoom_slider.setFixedWidth(140)
        self.zoom_slider.valueChanged.connect(self._slider_zoom)
        row.addWidget(self.zoom_slider)
        row.addWidget(self._tool("zoom-in", "Zoom in (Ctrl+=)", lambda: self.view.zoom(1.5)))
        row.addWidget(self._tool("zoom-fit", "Zoom to fit (Shift+Z)", self.view.fit))
        self._head_row = row

        corner = QWidget()
        corner.setFixedSize(HEADER_W, RULER_H)
        corner.setStyleSheet("background-color: #1d1e21; border-right: 1px solid #0f1011;"
                             " border-bottom: 1px solid #0f1011;")
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(0)
        grid.addWidget(corner, 0, 0)
        grid.addWidget(self.ruler, 0, 1)
        grid.addWidget(self.headers, 1, 0)
        grid.addWidget(self.view, 1, 1)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(bar)
        outer.addLayout(grid)

        editor.playhead_changed.connect(self._update_timecode)
        document.changed.connect(lambda *_: self._update_summary())
        self.view.zoom_changed.connect(self._sync_slider)
        self._update_timecode(editor.playhead)
        self._update_summary()
        self._sync_slider(self.view.layout.ppf)

    def add_tool(self, button: QToolButton, before_stretch: bool = True) -> None:
        """Put an action button (split, marker, snapping…) in the tool row."""
        self._head_row.insertWidget(2 + len(self.tool_buttons), button)
        self.tool_buttons[button.toolTip()] = button

    def _tool(self, name: str, tip: str, slot: object) -> QToolButton:
        b = QToolButton()
        b.setIcon(icon(name))
        b.setIconSize(QSize(18, 18))
        b.setToolTip(tip)
        b.setAutoRaise(True)
        b.clicked.connect(slot)
        return b

    def set_document(self, document: Document) -> None:
        self.view.set_document(document)
        self.ruler.update()
        document.changed.connect(lambda *_: self._update_summary())
        document.changed.connect(self.ruler.update)
        document.changed.connect(self.headers.update)
        self.headers.update()
        self._update_summary()

    def _update_timecode(self, frame: int) -> None:
        self.timecode.document = self.view.document
        self.timecode.show_frame(frame)

    def _update_summary(self) -> None:
        project = self.view.project
        n = len(project.timeline.entries)
        total = frames_to_timecode(project.duration_frames(), project.fps)
        fps = f"{project.fps:g}"
        self.summary.setText(f"{n} shot{'s' if n != 1 else ''}  ·  {total}  ·  {fps} fps")

    def _slider_zoom(self, value: int) -> None:
        import math

        ppf = math.exp(math.log(MIN_PPF) + (math.log(MAX_PPF) - math.log(MIN_PPF)) * value / 1000)
        if abs(ppf - self.view.layout.ppf) / self.view.layout.ppf > 0.01:
            self.view.set_ppf(ppf)

    def _sync_slider(self, ppf: float) -> None:
        import math

        value = int(round((math.log(ppf) - math.log(MIN_PPF)) / (math.log(MAX_PPF) - math.log(MIN_PPF)) * 1000))
        self.zoom_slider.blockSignals(True)
        self.zoom_slider.setValue(value)
        self.zoom_slider.blockSignals(False)
