"""The one graphics item that draws both tracks, painting only the exposed range.

A thousand shots are a thousand rectangles in a list, not a thousand QGraphicsItems:
``paint`` bisects the cached placements for the exposed rectangle and draws those
clips with a level of detail that drops text and thumbnails when clips get thin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QImage, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from engine.timebase import frames_to_seconds
from soul_studio.project.model import Placement, dialogue_track
from soul_studio.ui.media_cache import PEAKS_PER_SECOND
from soul_studio.ui.theme import COLORS, STATE_LABELS, color
from soul_studio.ui.timeline.layout import VIDEO_Y

if TYPE_CHECKING:
    from soul_studio.ui.timeline.view import TimelineView

HEADER_H = 18.0


@dataclass
class DragPreview:
    """What a drag in progress looks like: a reorder insertion or a trimmed edge."""

    kind: str  # "move" or "trim"
    shot_ids: list[str] = field(default_factory=list)
    frame: float = 0.0
    insert_frame: int = 0
    edge: str = ""
    start: int = 0
    end: int = 0
    track: str = "V1"
    followers: dict[str, int] = field(default_factory=dict)  # a ripple: shot id → the start it moves to
    blocked: str = ""  # why the edit shown would be refused (a locked track in the way)


def frame_rect(painter: QPainter, rect: QRectF, colour: QColor, width: float = 1.0) -> None:
    """Outline ``rect`` with four fills (much cheaper than drawRect with a translucent pen)."""
    painter.fillRect(QRectF(rect.left(), rect.top(), rect.width(), width), colour)
    painter.fillRect(QRectF(rect.left(), rect.bottom() - width, rect.width(), width), colour)
    painter.fillRect(QRectF(rect.left(), rect.top(), width, rect.height()), colour)
    painter.fillRect(QRectF(rect.right() - width, rect.top(), width, rect.height()), colour)


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    return QColor(
        int(a.red() * (1 - t) + b.red() * t),
        int(a.green() * (1 - t) + b.green() * t),
        int(a.blue() * (1 - t) + b.blue() * t),
    )


class TrackCanvas(QGraphicsItem):
    """Video and audio tracks of the whole scene in one item."""

    def __init__(self, view: TimelineView) -> None:
        super().__init__()
        self.view = view
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self._width = 1000.0
        self._bold = QFont()
        self._bold.setPixelSize(11)
        self._bold.setBold(True)
        self._small = QFont()
        self._small.setPixelSize(11)
        self._tiny = QFont()
        self._tiny.setPixelSize(9)
        self._tiny.setBold(True)
        self._small_metrics = QFontMetrics(self._small)
        self._bold_metrics = QFontMetrics(self._bold)
        self._tiny_metrics = QFontMetrics(self._tiny)
        self.painted_clips = 0
        wave = color("audio_wave")
        self._wave_rgba = np.array([wave.red(), wave.green(), wave.blue(), 255], np.uint8)

    def set_width(self, width: float) -> None:
        if width != self._width:
            self.prepareGeometryChange()
            self._width = width

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self._width, self.view.layout.scene_h)

    # -------------------------------------------------------------- paint
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        exposed = option.exposedRect
        left, right = exposed.left() - 2, exposed.right() + 2
        view = self.view
        layout = view.layout
        painter.fillRect(QRectF(left, 0, right - left, layout.scene_h), color("track_alt"))
        switches = view.project.timeline
        audible = view.audible_rows()
        for row in layout.rows:
            painter.fillRect(QRectF(left, row.y, right - left, row.h), color("track_bg"))
        self._paint_in_out(painter, left, right)
        selected = set(view.editor.selection)
        painted = 0
        for row in layout.rows:
            if row.kind == "music":
                self._paint_music(painter, row.y, row.h, left, right)
                if row.key not in audible:
                    painter.fillRect(QRectF(left, row.y, right - left, row.h), QColor(10, 10, 12, 150))
                continue
            visible = layout.visible(left, right, row.key)
            painted += len(visible)
            for p in visible:
                if row.kind == "video":
                    self._paint_video(painter, p, p.shot.id in selected, row.y, row.h)
                else:
                    self._paint_audio(painter, p, p.shot.id in selected, left, right, row.y, row.h)
            if row.kind == "dialogue" and row.key not in audible:
                painter.fillRect(QRectF(left, row.y, right - left, row.h), QColor(10, 10, 12, 150))  # muted
            if switches.switches(row.key).lock:
                painter.fillRect(QRectF(left, row.y, right - left, row.h),
                                 QBrush(QColor(255, 255, 255, 18), Qt.BrushStyle.BDiagPattern))
        self.painted_clips = painted
        self._paint_markers(painter, left, right)
        if view.drag is not None:
            self._paint_drag(painter, view.drag)

    def _paint_in_out(self, painter: QPainter, left: float, right: float) -> None:
        rng = self.view.editor.in_out()
        if rng is None:
            return
        x0, x1 = self.view.layout.x(rng[0]), self.view.layout.x(rng[1])
        if x1 < left or x0 > right:
            return
        painter.fillRect(QRectF(x0, 0, x1 - x0, self.view.layout.scene_h), QColor(255, 255, 255, 14))

    def _paint_markers(self, painter: QPainter, left: float, right: float) -> None:
        layout = self.view.layout
        pen = QPen(QColor(224, 192, 80, 110), 1, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        painter.setPen(pen)
        for m in self.view.project.timeline.markers:
            x = layout.x(m.frame)
            if left <= x <= right:
                painter.drawLine(QPointF(x, 0), QPointF(x, layout.scene_h))

    def _paint_video(self, painter: QPainter, p: Placement, selected: bool, y: float, h: float) -> None:
        view = self.view
        layout = view.layout
        x0 = layout.x(p.start)
        w = layout.x(p.end) - x0
        rect = QRectF(x0, y, w, h)
        character = view.project.character(p.shot.character_id)
        base = QColor(character.colour) if character else QColor("#6b6f77")
        if w < 5:
            painter.fillRect(rect, _mix(base, QColor("#1b1c1e"), 0.35))
            return
        inner = rect.adjusted(0.5, 0.5, -0.5, -0.5)
        body = _mix(base, QColor("#1b1c1e"), 0.72)
        head = _mix(base, QColor("#1b1c1e"), 0.25)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.fillRect(inner, body)
        painter.fillRect(QRectF(inner.left(), inner.top(), inner.width(), HEADER_H), head)
        state, fraction = view.badge(p.shot)
        if w >= 24:
            painter.save()
            painter.setClipRect(inner)
            text_left = inner.left() + 6
            image = view.clip_thumbnail(p.shot)
            body_top = inner.top() + HEADER_H + 3
            body_h = inner.height() - HEADER_H - 6
            if image is not None and w >= 44:
                tw = min(body_h * image.width() / max(1, image.height()), inner.width() - 8)
                target = QRectF(inner.left() + 3, body_top, tw, body_h)
                self._draw_cover(painter, image, target)
                frame_rect(painter, target, QColor(0, 0, 0, 120))
                text_left = target.right() + 7
            painter.setFont(self._bold)
            painter.setPen(QColor("#f4f5f7"))
            name = character.name if character else "No character"
            if p.shot.name:
                name = f"{name}  ·  {p.shot.name}"
            label_w = inner.width() - 10
            painter.drawText(QRectF(inner.left() + 6, inner.top(), label_w, HEADER_H),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                             self._bold_metrics.elidedText(name, Qt.TextElideMode.ElideRight, int(label_w)))
            text_w = inner.right() - text_left - 6
            if text_w > 24 and p.shot.text:
                painter.setFont(self._small)
                painter.setPen(QColor("#d2d4d8"))
                text_rect = QRectF(text_left, body_top, text_w, body_h - 18)
                painter.drawText(text_rect, int(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft
                                                | Qt.TextFlag.TextWordWrap), p.shot.text)
            self._paint_badge(painter, inner, state, fraction, text_left)
            painter.restore()
        if fraction is not None:
            bar = QRectF(inner.left(), inner.bottom() - 3, inner.width() * max(0.0, min(1.0, fraction)), 3)
            painter.fillRect(bar, color("state_rendering"))
        if selected:
            frame_rect(painter, rect, color("selection"), 2.0)
        else:
            frame_rect(painter, rect, QColor(0, 0, 0, 170))

    def _paint_music(self, painter: QPainter, y: float, h: float, left: float, right: float) -> None:
        view = self.view
        layout = view.layout
        fps = view.project.fps
        painter.setFont(self._small)
        for clip in view.project.timeline.music:
            x0, x1 = layout.x(clip.start), layout.x(clip.start + clip.frames(fps))
            if x1 < left or x0 > right:
                continue
            rect = QRectF(x0, y, max(1.0, x1 - x0), h)
            painter.fillRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), QColor("#5a5230"))
            frame_rect(painter, rect, QColor(0, 0, 0, 170))
            if rect.width() > 60:
                painter.setPen(QColor("#f1e6b0"))
                name = clip.path.rsplit("/", 1)[-1]
                painter.drawText(rect.adjusted(6, 0, -6, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                                 self._small_metrics.elidedText(name, Qt.TextElideMode.ElideMiddle,
                                                                int(rect.width() - 12)))

    def _draw_cover(self, painter: QPainter, image: QImage, target: QRectF) -> None:
        """Draw ``image`` filling ``target`` (cropped, never stretched)."""
        iw, ih = image.width(), image.height()
        if iw <= 0 or ih <= 0 or target.width() <= 0:
            return
        scale = max(target.width() / iw, target.height() / ih)
        sw, sh = target.width() / scale, target.height() / scale
        source = QRectF((iw - sw) / 2, (ih - sh) / 2, sw, sh)
        painter.drawImage(target, image, source)

    def _paint_badge(self, painter: QPainter, inner: QRectF, state: str, fraction: float | None,
                     min_left: float) -> None:
        label = STATE_LABELS.get(state, state.upper())
        if fraction is not None and state == "rendering":
            label = f"{label} {int(round(fraction * 100))}%"
        painter.setFont(self._tiny)
        tw = self._tiny_metrics.horizontalAdvance(label) + 10
        if inner.width() < tw + 8:
            tw = 10
            label = ""
        rect = QRectF(inner.right() - tw - 4, inner.bottom() - 18, tw, 14)
        if rect.left() < min_left - 4 and label:
            tw, label = 10, ""
            rect = QRectF(inner.right() - 14, inner.bottom() - 18, 10, 14)
        key = f"state_{state}" if f"state_{state}" in COLORS else "state_none"
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(color(key)))
        painter.drawRoundedRect(rect, 3, 3)
        if label:
            painter.setPen(QColor("#101113"))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, label)

    def _paint_audio(self, painter: QPainter, p: Placement, selected: bool, left: float, right: float,
                     y: float, h: float) -> None:
        view = self.view
        layout = view.layout
        x0 = layout.x(p.start)
        w = layout.x(p.end) - x0
        rect = QRectF(x0, y, w, h)
        shot = p.shot
        if not shot.audio:
            if w >= 5:
                painter.fillRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), QColor("#25272b"))
                if w > 60:
                    painter.setFont(self._small)
                    painter.setPen(color("text_dim"))
                    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "silent hold")
            return
        base = color("audio_clip")
        if w < 5:
            painter.fillRect(rect, base)
            return
        inner = rect.adjusted(0.5, 0.5, -0.5, -0.5)
        painter.fillRect(inner, base)
        path = view.project.resolve(shot.audio)
        peaks = view.cache.waveform(path) if path is not None else None
        if peaks is not None and len(peaks):
            self._paint_wave(painter, inner, p, peaks, left, right)
        if w > 70:
            painter.setFont(self._small)
            painter.setPen(QColor("#cfeee0"))
            name = path.name if path is not None else ""
            painter.drawText(inner.adjusted(6, 2, -6, 0), Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft,
                             self._small_metrics.elidedText(name, Qt.TextElideMode.ElideMiddle, int(inner.width() - 12)))
        if selected:
            frame_rect(painter, rect, color("selection"), 2.0)
        else:
            frame_rect(painter, rect, QColor(0, 0, 0, 170))

    def _paint_wave(self, painter: QPainter, inner: QRectF, p: Placement, peaks: np.ndarray,
                    left: float, right: float) -> None:
        layout = self.view.layout
        fps = self.view.project.fps
        x_start = max(inner.left(), left)
        x_end = min(inner.right(), right)
        if x_end - x_start < 1:
            return
        step = 1.0 if layout.ppf >= 0.5 else 2.0
        xs = np.arange(x_start, x_end, step)
        frames = (xs - layout.x(p.start)) / layout.ppf
        seconds = p.shot.audio_in - p.shot.handle_head + frames * frames_to_seconds(1, fps)
        idx = np.clip((seconds * PEAKS_PER_SECOND).astype(np.int64), 0, len(peaks) - 1)
        end_s = (p.shot.audio_out if p.shot.audio_out is not None else len(peaks) / PEAKS_PER_SECOND)
        silent = (seconds < p.shot.audio_in) | (seconds > end_s)  # the silent head/tail handles
        span = max(1, int(step / layout.ppf * frames_to_seconds(1, fps) * PEAKS_PER_SECOND))
        if span > 1:
            values = np.maximum.reduceat(peaks, idx)  # max over each column's window
        else:
            values = peaks[idx]
        values = np.where(silent, 0.0, values)
        top = inner.top() + 12
        height = int(inner.height() - 14)
        if height < 4:
            return
        values = np.sqrt(values)  # perceptual scale, quiet lines stay visible
        # one column per step, painted with numpy: no per-point Python objects
        half = values * (height / 2 - 1)
        rows = np.abs(np.arange(height, dtype=np.float32) - (height - 1) / 2)[:, None]
        mask = rows <= np.maximum(half, 0.5)[None, :]
        rgba = np.zeros((height, len(values), 4), np.uint8)
        rgba[mask] = self._wave_rgba
        image = QImage(rgba.data, rgba.shape[1], height, rgba.shape[1] * 4, QImage.Format.Format_RGBA8888)
        painter.drawImage(QRectF(float(xs[0]), top, len(values) * step, height), image)

    def _paint_drag(self, painter: QPainter, drag: DragPreview) -> None:
        layout = self.view.layout
        accent = color("selection")
        bottom = layout.scene_h - 10
        if drag.kind == "move":
            x = layout.x(drag.insert_frame)
            row = layout.rows_by_key.get(drag.track) or layout.rows[0]
            painter.fillRect(QRectF(x - 1.5, VIDEO_Y - 4, 3, bottom - VIDEO_Y + 8), accent)
            length = sum(pl.length for sid in drag.shot_ids if (pl := layout.placement_of(sid)) is not None)
            ghost = QRectF(layout.x(drag.frame), row.y + 8, layout.x(length), row.h - 16)
            painter.setPen(QPen(accent, 1, Qt.PenStyle.DashLine))
            painter.setBrush(QColor(243, 163, 59, 45))
            painter.drawRect(ghost)
        elif drag.kind == "trim":
            rect = QRectF(layout.x(drag.start), VIDEO_Y, layout.x(drag.end - drag.start), bottom - VIDEO_Y)
            painter.setPen(QPen(accent, 2))
            painter.setBrush(QColor(243, 163, 59, 30))
            painter.drawRect(rect)
            edge_x = rect.left() if drag.edge == "head" else rect.right()
            painter.fillRect(QRectF(edge_x - 2, VIDEO_Y - 4, 4, rect.height() + 8),
                             QColor(220, 70, 60) if drag.blocked else accent)
            self._paint_followers(painter, drag)

    def _paint_followers(self, painter: QPainter, drag: DragPreview) -> None:
        """Ghosts where a ripple moves the clips after the edit point, on every track they use."""
        layout = self.view.layout
        painter.setPen(QPen(color("selection"), 1, Qt.PenStyle.DashLine))
        painter.setBrush(QColor(243, 163, 59, 35))
        for shot_id, start in drag.followers.items():
            p = layout.placement_of(shot_id)
            if p is None:
                continue
            for row in (layout.rows_by_key.get(p.track), layout.rows_by_key.get(dialogue_track(p.shot.character_id))):
                if row is not None:
                    painter.drawRect(QRectF(layout.x(start), row.y + 6, layout.x(p.length), row.h - 12))
