"""Timeline interactions: select, drag to reorder, drag edges to trim, zoom, drop media.

Every change is an Edit pushed on the document's undo stack; the view only previews a
drag (``drag``) until the mouse is released.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPen,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QFrame, QGraphicsLineItem, QGraphicsScene, QGraphicsView, QWidget

from engine.media import MediaError
from soul_studio.project.cutting import CutError, locked_moved, move_to, roll_edit, starts_of, track_name
from soul_studio.project.edits import AddMusicClip, Edit, MoveShot, trim_shot
from soul_studio.project.edits_extra import CompoundEdit
from soul_studio.project.model import MusicClip, Project, Shot, audible_tracks, dialogue_track
from soul_studio.project.ripple import ripple_trim
from soul_studio.render.planner import FingerprintCache
from soul_studio.render.takes import TakeJudge, shot_state, shown_take
from soul_studio.ui.document import Document
from soul_studio.ui.drops import drop_edit
from soul_studio.ui.media_cache import MediaCache, is_audio
from soul_studio.ui.state import EditorState
from soul_studio.ui.theme import color
from soul_studio.ui.timeline.canvas import DragPreview, TrackCanvas
from soul_studio.ui.timeline.layout import EDGE_GRAB_PX, MAX_PPF, MIN_PPF, SCENE_H, Row, TimelineLayout

DRAG_THRESHOLD = 4
JobOverlay = Callable[[str], "tuple[str, float | None] | None"]


def build_order_moves(order: list[str], target: list[str]) -> list[Edit]:
    """MoveShot edits that turn ``order`` into ``target`` (same ids), left to right."""
    current = list(order)
    edits: list[Edit] = []
    for i, shot_id in enumerate(target):
        if current[i] != shot_id:
            j = current.index(shot_id)
            current.insert(i, current.pop(j))
            edits.append(MoveShot(shot_id, i))
    return edits


class TimelineView(QGraphicsView):
    """The two-track timeline of the open document."""

    zoom_changed = Signal(float)
    message = Signal(str)
    error = Signal(str, str)  # title, text
    shot_activated = Signal(str)  # double-click
    context_requested = Signal(object, str)  # global QPoint, shot id ("" on empty track)

    def __init__(self, document: Document, editor: EditorState, cache: MediaCache,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.editor = editor
        self.cache = cache
        self.layout = TimelineLayout()
        self.drag: DragPreview | None = None
        self.snapping = True
        self.job_overlay: JobOverlay | None = None
        self._fingerprints = FingerprintCache()
        self._states: dict[str, str] = {}
        self._press: tuple[QPointF, str, str | None, int] | None = None  # pos, zone, shot, frame
        self.hit_row: Row | None = None
        self._press_mods = Qt.KeyboardModifier.NoModifier
        self._press_row = ""
        self._follow_playhead = True

        self.setScene(QGraphicsScene(self))
        self.scene().setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        self.canvas = TrackCanvas(self)
        self.scene().addItem(self.canvas)
        self.playhead = QGraphicsLineItem()
        pen = QPen(color("playhead"), 1.5)
        pen.setCosmetic(True)
        self.playhead.setPen(pen)
        self.playhead.setZValue(10)
        self.scene().addItem(self.playhead)

        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setOptimizationFlags(QGraphicsView.OptimizationFlag.DontSavePainterState)
        self.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        self.setBackgroundBrush(color("track_alt"))
        self.setAcceptDrops(True)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumHeight(int(SCENE_H) + 14)

        document.changed.connect(self._on_changed)
        editor.selection_changed.connect(self.canvas.update)
        editor.playhead_changed.connect(self._on_playhead)
        editor.in_out_changed.connect(self.canvas.update)
        cache.ready.connect(self._on_media_ready)
        self._repaint_timer = QTimer(self, singleShot=True, interval=30)
        self._repaint_timer.timeout.connect(self.canvas.update)
        self.refresh()

    # ----------------------------------------------------------- document
    @property
    def project(self) -> Project:
        return self.document.project

    def set_document(self, document: Document) -> None:
        self.document.changed.disconnect(self._on_changed)
        self.document = document
        document.changed.connect(self._on_changed)
        self._states.clear()
        self.refresh()

    def refresh(self) -> None:
        """Re-read placements after the cut changed."""
        self.layout.rebuild(self.project)
        self._resize_scene()

    def _resize_scene(self) -> None:
        """Scene width for the current zoom (placements unchanged)."""
        width = max(self.layout.width(), float(self.viewport().width()))
        self.canvas.set_width(width)
        self.scene().setSceneRect(QRectF(0, 0, width, self.layout.scene_h))
        self.setMinimumHeight(int(min(self.layout.scene_h, SCENE_H * 1.6)) + 14)
        self._place_playhead()
        self.canvas.update()

    def _on_changed(self, kind: str, subject: object) -> None:
        if kind in ("shot", "takes") and isinstance(subject, Shot):
            self._states.pop(subject.id, None)
        elif kind in ("character", "cast", "project", "media"):
            self._states.clear()
        if kind in ("timeline", "shot", "project", "cast", "character", "takes"):
            self.refresh()
            self.editor.prune(set(self.project.shots))
        else:
            self.canvas.update()

    def _on_media_ready(self, kind: str, _key: str) -> None:
        if kind in ("thumb", "wave") and not self._repaint_timer.isActive():
            self._repaint_timer.start()

    def invalidate_states(self, shot_id: str | None = None) -> None:
        if shot_id is None:
            self._states.clear()
        else:
            self._states.pop(shot_id, None)
        self.canvas.update()

    # -------------------------------------------------------- what to draw
    def badge(self, shot: Shot) -> tuple[str, float | None]:
        """(state, render fraction or None) for a clip's badge."""
        if self.job_overlay is not None:
            live = self.job_overlay(shot.id)
            if live is not None:
                return live
        state = self._states.get(shot.id)
        if state is None:
            state = self._states[shot.id] = shot_state(self.project, shot, self._fingerprints)
        return state, None

    def judge(self) -> TakeJudge:
        return TakeJudge(self.project, self._fingerprints)

    def clip_thumbnail(self, shot: Shot) -> QImage | None:
        take, _stale = shown_take(self.project, shot, self.judge())
        if take is not None:
            path = self.project.resolve(take.file)
            if path is not None and path.exists():
                image = self.cache.thumbnail(path, 96, video=True)
                if image is not None:
                    return image
        character = self.project.character(shot.character_id)
        if character is not None and character.portrait:
            path = self.project.resolve(character.portrait)
            if path is not None and path.exists():
                return self.cache.thumbnail(path, 96)
        return None

    # ---------------------------------------------------------------- zoom
    def set_ppf(self, ppf: float, anchor_x: float | None = None) -> None:
        """Zoom to ``ppf`` pixels per frame, keeping the frame under ``anchor_x`` (viewport x) still."""
        ppf = max(MIN_PPF, min(MAX_PPF, ppf))
        if abs(ppf - self.layout.ppf) < 1e-9:
            return
        if anchor_x is None:
            anchor_x = self.viewport().width() / 2
        scroll = self.horizontalScrollBar()
        frame = (scroll.value() + anchor_x) / self.layout.ppf
        self.layout.ppf = ppf
        self._resize_scene()
        scroll.setValue(int(frame * ppf - anchor_x))
        self.zoom_changed.emit(ppf)

    def zoom(self, factor: float, anchor_x: float | None = None) -> None:
        self.set_ppf(self.layout.ppf * factor, anchor_x)

    def fit(self) -> None:
        frames = max(24, self.layout.duration)
        self.set_ppf(max(MIN_PPF, (self.viewport().width() - 24) / frames))
        self.horizontalScrollBar().setValue(0)

    def visible_frames(self) -> tuple[int, int]:
        left = self.horizontalScrollBar().value()
        return self.layout.frame_at(left), self.layout.frame_at(left + self.viewport().width())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._resize_scene()

    # ------------------------------------------------------------ playhead
    def _place_playhead(self) -> None:
        x = self.layout.x(self.editor.playhead)
        self.playhead.setLine(x, 0, x, self.layout.scene_h)

    def _on_playhead(self, frame: int) -> None:
        self._place_playhead()
        if self._follow_playhead:
            x = self.layout.x(frame)
            scroll = self.horizontalScrollBar()
            w = self.viewport().width()
            if x < scroll.value() or x > scroll.value() + w - 20:
                scroll.setValue(int(x - w * 0.1))

    # ------------------------------------------------------------ hit test
    def hit(self, pos: QPointF) -> tuple[str, str | None]:
        """(zone, shot id) under a viewport position; zones: head, tail, body, empty."""
        scene = self.mapToScene(pos.toPoint())
        row = self.hit_row = self.layout.row_at(scene.y())
        if row is None or row.kind == "music":
            return "empty", None
        frame = scene.x() / self.layout.ppf
        p = self.layout.at_frame(frame, row.key)
        edge_frames = EDGE_GRAB_PX / self.layout.ppf
        if p is not None:  # each clip owns the edge zones inside it: a clip right after another trims too
            wide = p.length * self.layout.ppf > 3 * EDGE_GRAB_PX
            if wide and frame - p.start < edge_frames:
                return "head", p.shot.id
            if wide and p.end - frame < edge_frames:
                return "tail", p.shot.id
            return "body", p.shot.id
        before = self.layout.at_frame(frame - edge_frames, row.key)  # in a gap just after a clip: its tail
        if before is not None and frame - before.end < edge_frames:
            return "tail", before.shot.id
        after = self.layout.at_frame(frame + edge_frames, row.key)  # in a gap just before a clip: its head
        if after is not None and after.start - frame < edge_frames:
            return "head", after.shot.id
        return "empty", None

    def shot_rect(self, shot_id: str) -> QRectF:
        """The clip's video rectangle in viewport coordinates (for tests and tooltips)."""
        p = self.layout.placement_of(shot_id)
        if p is None:
            return QRectF()
        y, h = self.layout.video_rect_y(p)
        scene = QRectF(self.layout.x(p.start), y, self.layout.x(p.end) - self.layout.x(p.start), h)
        return self.mapFromScene(scene).boundingRect().toRectF()

    def audio_rect(self, shot_id: str) -> QRectF:
        """The clip's dialogue rectangle (on its character's row) in viewport coordinates."""
        p = self.layout.placement_of(shot_id)
        rows = self.layout.audio_rect_y(p) if p is not None else None
        if p is None or rows is None:
            return QRectF()
        scene = QRectF(self.layout.x(p.start), rows[0], self.layout.x(p.end) - self.layout.x(p.start), rows[1])
        return self.mapFromScene(scene).boundingRect().toRectF()

    def row_rect(self, key: str) -> QRectF:
        row = self.layout.rows_by_key.get(key)
        if row is None:
            return QRectF()
        left = self.horizontalScrollBar().value()
        scene = QRectF(left, row.y, self.viewport().width(), row.h)
        return self.mapFromScene(scene).boundingRect().toRectF()

    def audible_rows(self) -> set[str]:
        """Dialogue and music rows heard now: unmuted ones, or only the soloed ones when any is soloed."""
        return audible_tracks(self.project, [r.key for r in self.layout.rows if r.kind != "video"])

    def locked(self, shot_id: str) -> str | None:
        """The locked track a clip sits on (its video track or its dialogue track), if any."""
        p = self.layout.placement_of(shot_id)
        if p is None:
            return None
        for key in (p.track, dialogue_track(p.shot.character_id)):
            if self.project.timeline.switches(key).lock:
                return key
        return None

    # --------------------------------------------------------------- mouse
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        self.setFocus()
        pos = event.position()
        zone, shot_id = self.hit(pos)
        frame = self.layout.frame_at(self.mapToScene(pos.toPoint()).x())
        mods = event.modifiers()
        if zone == "empty":
            if not mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier):
                self.editor.select([])
            self.editor.set_playhead(frame)
        elif zone == "body":
            assert shot_id is not None
            if mods & Qt.KeyboardModifier.ControlModifier:
                self.editor.toggle(shot_id)
            elif mods & Qt.KeyboardModifier.ShiftModifier and self.editor.selection:
                ids = [p.shot.id for p in self.layout.placements]
                a, b = ids.index(self.editor.selection[0]), ids.index(shot_id)
                lo, hi = min(a, b), max(a, b)
                self.editor.select(ids[lo:hi + 1] if a <= b else list(reversed(ids[lo:hi + 1])))
            elif shot_id not in self.editor.selection:
                self.editor.select([shot_id])
            else:
                self.editor.select([s for s in self.editor.selection if s != shot_id] + [shot_id])
        else:
            assert shot_id is not None
            self.editor.select([shot_id])
        self._press = (pos, zone, shot_id, frame)
        self._press_mods = mods
        self._press_row = self.hit_row.key if self.hit_row is not None else ""
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self._press is None:
            zone, _ = self.hit(pos)
            self.viewport().setCursor(Qt.CursorShape.SizeHorCursor if zone in ("head", "tail")
                                      else Qt.CursorShape.ArrowCursor)
            super().mouseMoveEvent(event)
            return
        start_pos, zone, shot_id, start_frame = self._press
        frame_f = self.mapToScene(pos.toPoint()).x() / self.layout.ppf
        if zone == "empty":
            self.editor.set_playhead(int(round(frame_f)))
            return
        if self.drag is None and (pos - start_pos).manhattanLength() < DRAG_THRESHOLD:
            return
        if zone != "empty" and shot_id is not None and self.locked(shot_id):
            if self.drag is None:
                self.message.emit(f"Track {self.locked(shot_id)} is locked")
                self.drag = DragPreview("locked", [shot_id])
            return
        if zone == "body":
            own = self.layout.track_of(shot_id or "")
            ids = [p.shot.id for p in self.layout.placements
                   if p.shot.id in set(self.editor.selection) and p.track == own]
            index = self.layout.insertion_index(frame_f, set(ids), track=own)
            others = [p for p in self.layout.placements if p.shot.id not in set(ids) and p.track == own]
            insert_frame = others[index - 1].end if index > 0 else (others[0].start if others else 0)
            if index == 0 and others:
                insert_frame = 0
            grab = self.layout.placement_of(shot_id or "")
            offset = (start_frame - grab.start) if grab is not None else 0
            row = self.layout.row_at(self.mapToScene(pos.toPoint()).y())
            track = row.key if row is not None and row.kind == "video" else (grab.track if grab else "V1")
            self.drag = DragPreview("move", ids, frame=frame_f - offset, insert_frame=insert_frame, track=track)
        elif zone in ("head", "tail") and shot_id is not None:
            grabbed = self.layout.placement_of(shot_id)
            press_f = self.mapToScene(start_pos.toPoint()).x() / self.layout.ppf
            edge = (grabbed.start if zone == "head" else grabbed.end) if grabbed is not None else press_f
            # the edge follows the mouse by the distance dragged, wherever in the zone it was grabbed
            self.drag = self._trim_preview(shot_id, zone, frame_f - (press_f - edge))
        self.canvas.update()

    def _snap_targets(self, exclude: str | None = None) -> list[int]:
        targets = {self.editor.playhead}
        for p in self.layout.placements:
            if p.shot.id != exclude:
                targets.add(p.start)
                targets.add(p.end)
        targets.update(m.frame for m in self.project.timeline.markers)
        return sorted(targets)

    def _trim_preview(self, shot_id: str, edge: str, frame_f: float) -> DragPreview:
        p = self.layout.placement_of(shot_id)
        assert p is not None
        edge_frame = self.layout.snap(frame_f, self._snap_targets(shot_id), self.snapping)
        if edge == "head":
            # head trim keeps the clip's start on the track; the dragged distance is what is cut or added
            delta = edge_frame - p.start
            edit = trim_shot(self.project, shot_id, head_frames=delta, handles=True)
        else:
            delta = p.end - edge_frame
            edit = trim_shot(self.project, shot_id, tail_frames=delta, handles=True)
        new_len = self._length_after(shot_id, edit)
        if edge == "head":
            preview = DragPreview("trim", [shot_id], edge="head", start=p.end - new_len, end=p.end)
        else:
            preview = DragPreview("trim", [shot_id], edge="tail", start=p.start, end=p.start + new_len)
        if not self._press_mods & Qt.KeyboardModifier.AltModifier and new_len != p.length:
            self._ripple_followers(preview, shot_id, p.length - new_len)
        return preview

    def _ripple_followers(self, preview: DragPreview, shot_id: str, cut: int) -> None:
        """Where the ripple this trim makes would move the other clips (or why it would be refused)."""
        try:
            head, tail = (cut, 0) if preview.edge == "head" else (0, cut)
            recut = ripple_trim(self.project, shot_id, head_frames=head, tail_frames=tail)
        except ValueError as exc:
            preview.blocked = str(exc)
            return
        now = {q.shot.id: q.start for q in self.layout.placements}
        moved = starts_of(self.project, recut.entries, {shot_id: preview.end - preview.start})
        preview.followers = {sid: start for sid, (_t, start) in moved.items()
                             if sid != shot_id and now.get(sid) is not None and now[sid] != start}

    def _length_after(self, shot_id: str, edit: Edit) -> int:
        shot = self.project.shots[shot_id]
        import copy

        probe = copy.copy(shot)
        for key, value in edit.changes.items():  # type: ignore[attr-defined]
            setattr(probe, key, value)
        return probe.frames(self.project.fps)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        press, drag = self._press, self.drag
        self._press, self.drag = None, None
        if press is None or drag is None:
            self.canvas.update()
            super().mouseReleaseEvent(event)
            return
        try:
            if drag.kind == "move":
                self._commit_move(drag, event.position())
            elif drag.kind == "trim":
                self._commit_trim(drag)
        finally:
            self.canvas.update()

    def _commit_move(self, drag: DragPreview, pos: QPointF) -> None:
        frame_f = self.mapToScene(pos.toPoint()).x() / self.layout.ppf
        moving = drag.shot_ids
        if len(moving) == 1 and drag.track != self.layout.track_of(moving[0]):
            # dragged onto the other video track: it lands where it was dropped, over or under the cut
            try:
                edit = move_to(self.project, moving[0], drag.track, int(round(drag.frame)))
            except CutError as exc:
                self.message.emit(str(exc))
                return
            self.document.push(edit)
            self.message.emit(f"Moved the shot to {drag.track}")
            return
        track = self.layout.track_of(moving[0]) if moving else "V1"
        moving = [m for m in moving if self.layout.track_of(m) == track]  # a reorder stays on its track
        order = self.project.timeline.shot_ids()
        on_track = [e.shot_id for e in self.project.timeline.entries if e.track == track]
        others = [s for s in on_track if s not in set(moving)]
        index = self.layout.insertion_index(frame_f, set(moving), track=track)
        new_track = iter(others[:index] + [s for s in on_track if s in set(moving)] + others[index:])
        track_set = set(on_track)
        target = [next(new_track) if sid in track_set else sid for sid in order]
        held = locked_moved(self.project, target)
        if held is not None:  # a locked clip would move: locked tracks never change
            self.message.emit(f"Track {track_name(self.project, held)} is locked; its clips stay where they are")
            return
        edits = build_order_moves(order, target)
        if not edits:
            return
        edit = edits[0] if len(edits) == 1 else CompoundEdit(edits, text="Move Shots")
        self.document.push(edit)
        self.message.emit(f"Moved {len(moving)} shot{'s' if len(moving) > 1 else ''}")

    def _commit_trim(self, drag: DragPreview) -> None:
        shot_id = drag.shot_ids[0]
        p = self.layout.placement_of(shot_id)
        if p is None:
            return
        if drag.edge == "head":
            delta = p.length - (drag.end - drag.start)
        else:
            delta = p.end - drag.end
        if not delta:
            return
        try:
            if self._press_mods & Qt.KeyboardModifier.AltModifier:
                edit: Edit = roll_edit(self.project, shot_id, drag.edge, -delta if drag.edge == "tail" else delta)
            elif drag.edge == "head":  # a ripple: later clips on every unlocked track follow (sync lock)
                edit = ripple_trim(self.project, shot_id, head_frames=delta)
            else:
                edit = ripple_trim(self.project, shot_id, tail_frames=delta)
        except ValueError as exc:  # CutError: a locked neighbour, a clip in the way
            self.message.emit(str(exc))
            return
        self.document.push(edit)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        zone, shot_id = self.hit(event.position())
        if shot_id is not None and zone == "body":
            self.shot_activated.emit(shot_id)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        zone, shot_id = self.hit(QPointF(event.pos()))
        if shot_id is not None and shot_id not in self.editor.selection:
            self.editor.select([shot_id])
        self.context_requested.emit(event.globalPos(), shot_id or "")

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom(1.15 if delta > 0 else 1 / 1.15, event.position().x())
            event.accept()
            return
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            super().wheelEvent(event)
            return
        bar = self.horizontalScrollBar()
        bar.setValue(bar.value() - int(delta))
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            step = 1 if key == Qt.Key.Key_Right else -1
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                step *= 10
            self.editor.set_playhead(self.editor.playhead + step)
            return
        if key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            points = self.layout.edit_points()
            here = self.editor.playhead
            if key == Qt.Key.Key_Down:
                later = [f for f in points if f > here]
                if later:
                    self.editor.set_playhead(later[0])
            else:
                earlier = [f for f in points if f < here]
                if earlier:
                    self.editor.set_playhead(earlier[-1])
            return
        super().keyPressEvent(event)

    # --------------------------------------------------------------- drops
    def _drop_paths(self, event: QDropEvent | QDragEnterEvent | QDragMoveEvent) -> list[str]:
        mime = event.mimeData()
        if not mime.hasUrls():
            return []
        return [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._drop_paths(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if not self._drop_paths(event):
            event.ignore()
            return
        frame_f = self.mapToScene(event.position().toPoint()).x() / self.layout.ppf
        zone, shot_id = self.hit(event.position())
        if zone == "body" and shot_id is not None:
            self.drag = None
            self.editor.select([shot_id])
        else:
            index = self.layout.insertion_index(frame_f)
            places = self.layout.placements
            insert_frame = places[index - 1].end if index > 0 and places else 0
            self.drag = DragPreview("move", [], frame=frame_f, insert_frame=insert_frame)
        self.canvas.update()
        event.acceptProposedAction()

    def dragLeaveEvent(self, event: object) -> None:
        self.drag = None
        self.canvas.update()

    def dropEvent(self, event: QDropEvent) -> None:
        self.drag = None
        paths = self._drop_paths(event)
        if not paths:
            event.ignore()
            return
        zone, shot_id = self.hit(event.position())
        frame_f = self.mapToScene(event.position().toPoint()).x() / self.layout.ppf
        if self.hit_row is not None and self.hit_row.kind == "music":
            self._drop_music(paths, int(round(frame_f)))
            event.acceptProposedAction()
            return
        target = shot_id if zone == "body" else None
        index = None if target else self.layout.insertion_index(frame_f)
        if index is not None and index >= len(self.layout.placements):
            index = None
        at = None  # between clips: an insert edit on V1 at the cut before the drop, every unlocked track following
        if index is not None:
            v1 = [p for p in self.layout.placements if p.track == "V1"]
            n = self.layout.insertion_index(frame_f, track="V1")
            at = v1[n - 1].end if n > 0 else 0
        try:
            edit = drop_edit(self.project, paths, index=index, target_shot=target, frame=at)
        except CutError as exc:  # the line's dialogue track or V1 is locked
            self.message.emit(str(exc))
            event.ignore()
            return
        except MediaError as exc:
            self.error.emit("Cannot use the dropped file", str(exc))
            event.ignore()
            return
        if edit is None:
            self.message.emit("Drop portraits (PNG, JPEG, WebP) or dialogue audio (WAV, MP3, FLAC…)")
            event.ignore()
            return
        before = set(self.project.shots)
        self.document.push(edit)
        added = [s for s in self.project.timeline.shot_ids() if s not in before]
        if added:
            self.editor.select(added)
        event.acceptProposedAction()
        self.canvas.update()

    def _drop_music(self, paths: list[str], frame: int) -> None:
        """Audio dropped on the music/effects row becomes music clips there, one after the other."""
        from engine.media import probe_audio

        edits: list[Edit] = []
        for path in paths:
            if not is_audio(path):
                continue
            try:
                info = probe_audio(path)
            except MediaError as exc:
                self.error.emit("Cannot use the dropped file", str(exc))
                return
            clip = MusicClip(self.project.relative(path), start=max(0, frame), length=info.duration)
            edits.append(AddMusicClip(clip))
            frame += clip.frames(self.project.fps)
        if not edits:
            self.message.emit("Drop music or effects audio (WAV, MP3, FLAC…) on the M1 row")
            return
        self.document.push(edits[0] if len(edits) == 1 else CompoundEdit(edits, text="Add Music"))

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        if not self.layout.placements:
            painter.setPen(QColor("#6f737a"))
            view_rect = self.mapToScene(self.viewport().rect()).boundingRect()
            painter.drawText(view_rect, Qt.AlignmentFlag.AlignCenter,
                             "Drop portraits and dialogue audio here to build the scene")
