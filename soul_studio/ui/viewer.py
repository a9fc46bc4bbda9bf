"""The viewer: plays the cut (newest take per shot, the portrait where none) with audio.

Frames come from :class:`MediaCache` workers; the viewer shows the newest frame it has
and never waits for a decode, so scrubbing stays live. The clock is the wall clock
(QElapsedTimer), the audio is the timeline mix pushed to a QAudioSink from the play
position; without an audio device playback carries on silently.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QElapsedTimer, QIODevice, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QImage, QKeyEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from engine.timebase import fps_fraction, frames_to_seconds, frames_to_timecode
from soul_studio.project.model import Placement
from soul_studio.render.planner import FingerprintCache
from soul_studio.render.takes import TakeJudge, shown_take
from soul_studio.ui import playback_audio
from soul_studio.ui.document import Document
from soul_studio.ui.media_cache import PLAYBACK_RATE, MediaCache
from soul_studio.ui.state import EditorState
from soul_studio.ui.theme import icon, mono_font
from soul_studio.ui.timeline.panel import start_offset

AUDIO_WINDOW_S = 120.0
SHUTTLE_WINDOW_S = 20.0  # seconds of sound queued per J/L press (memory stays small at 8×)


class FrameView(QWidget):
    """Black letterboxed picture at the project's aspect, with a small caption."""

    escape = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image: QImage | None = None
        self.caption = ""
        self.badge = ""
        self.aspect = 16 / 9
        self.setMinimumSize(320, 180)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)

    def set_image(self, image: QImage | None, caption: str = "", badge: str = "") -> None:
        self.image, self.caption, self.badge = image, caption, badge
        self.update()

    def picture_rect(self) -> QRectF:
        w, h = self.width() - 16, self.height() - 16
        if w / max(1, h) > self.aspect:
            pw, ph = h * self.aspect, h
        else:
            pw, ph = w, w / self.aspect
        return QRectF((self.width() - pw) / 2, (self.height() - ph) / 2, pw, ph)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#0c0c0d"))
        target = self.picture_rect()
        p.fillRect(target, QColor("#000000"))
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        if self.image is not None and not self.image.isNull():
            iw, ih = self.image.width(), self.image.height()
            scale = min(target.width() / iw, target.height() / ih)
            dw, dh = iw * scale, ih * scale
            p.drawImage(QRectF(target.center().x() - dw / 2, target.center().y() - dh / 2, dw, dh), self.image)
        else:
            p.setPen(QColor("#4a4d54"))
            p.drawText(target, Qt.AlignmentFlag.AlignCenter, "No picture at the playhead")
        if self.caption:
            font = QFont()
            font.setPixelSize(11)
            p.setFont(font)
            p.setPen(QColor(230, 231, 234, 200))
            p.drawText(target.adjusted(10, 8, -10, -8), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                       self.caption)
        if self.badge:
            font = QFont()
            font.setPixelSize(10)
            font.setBold(True)
            p.setFont(font)
            rect = QRectF(target.right() - 130, target.top() + 8, 120, 18)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(0, 0, 0, 150))
            p.drawRoundedRect(rect, 3, 3)
            p.setPen(QColor("#f29a4a"))
            p.drawText(rect, Qt.AlignmentFlag.AlignCenter, self.badge)
        p.end()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Escape, Qt.Key.Key_F) and self.isWindow():
            self.escape.emit()
            return
        super().keyPressEvent(event)


class AudioOut:
    """Timeline audio through QAudioSink; silent (``available`` False) without a device."""

    def __init__(self) -> None:
        self.sink = None
        self.buffer: QBuffer | None = None
        self.available = False
        self.reason = ""
        try:
            from PySide6.QtMultimedia import QAudioFormat, QAudioSink, QMediaDevices

            device = QMediaDevices.defaultAudioOutput()
            if device.isNull():
                self.reason = "no audio output device"
                return
            fmt = QAudioFormat()
            fmt.setSampleRate(PLAYBACK_RATE)
            fmt.setChannelCount(2)
            fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
            if not device.isFormatSupported(fmt):
                self.reason = "audio device rejects 48 kHz stereo"
                return
            self.sink = QAudioSink(device, fmt)
            self.available = True
        except (ImportError, RuntimeError) as exc:
            self.reason = f"audio unavailable ({exc})"

    def play(self, pcm: np.ndarray) -> None:
        if not self.available or self.sink is None:
            return
        self.stop()
        self.buffer = QBuffer()
        self.buffer.setData(QByteArray(pcm.tobytes()))
        self.buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self.sink.start(self.buffer)

    def stop(self) -> None:
        if self.sink is not None:
            self.sink.stop()
        if self.buffer is not None:
            self.buffer.close()
            self.buffer = None


def mix_timeline_audio(document: Document, cache: MediaCache, start_frame: int,
                       seconds: float = AUDIO_WINDOW_S) -> np.ndarray:
    """Interleaved int16 stereo PCM of the cut from ``start_frame`` (what is decoded so far)."""
    return playback_audio.to_pcm16(playback_audio.mix(document.project, cache, start_frame, seconds))


class LevelMeter(QWidget):
    """Peak (bar) and RMS (inner bar) of each channel in dBFS, −60 to 0, with the numbers."""

    FLOOR_DB = -60.0

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.peak = [playback_audio.SILENCE_DB] * 2
        self.rms = [playback_audio.SILENCE_DB] * 2
        self.setFixedSize(150, 22)
        self.setToolTip("Audio level at the playhead: peak and RMS in dBFS")

    def set_levels(self, peak: list[float], rms: list[float]) -> None:
        self.peak, self.rms = list(peak), list(rms)
        self.update()

    def text(self) -> str:
        return f"{max(self.peak):.1f} / {max(self.rms):.1f} dBFS"

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#141517"))
        bar_w = self.width() - 64
        for ch in range(2):
            y = 3 + ch * 9
            for value, tint, h in ((self.peak[ch], "#3f8f5a", 7), (self.rms[ch], "#7fd3a0", 3)):
                frac = max(0.0, min(1.0, (value - self.FLOOR_DB) / -self.FLOOR_DB))
                colour = "#e5484d" if value > -1.0 else tint
                p.fillRect(QRectF(2, y + (7 - h) / 2, bar_w * frac, h), QColor(colour))
        p.setPen(QColor("#9a9da4"))
        font = QFont()
        font.setPixelSize(9)
        p.setFont(font)
        p.drawText(QRectF(bar_w + 4, 0, 60, self.height()), Qt.AlignmentFlag.AlignVCenter,
                   f"{max(self.peak):.0f} / {max(self.rms):.0f} dB")
        p.end()


def ab_image(a: QImage, b: QImage) -> QImage:
    """Left half of ``a`` beside the right half of ``b`` (scaled to ``a``'s size), a white seam between."""
    b = b.scaled(a.size())
    out = a.convertToFormat(QImage.Format.Format_RGB888)
    painter = QPainter(out)
    half = out.width() // 2
    painter.drawImage(half, 0, b.convertToFormat(QImage.Format.Format_RGB888), half, 0, out.width() - half, out.height())
    painter.fillRect(half, 0, 1, out.height(), QColor("#ffffff"))
    painter.end()
    return out


class Viewer(QWidget):
    """Picture, transport and timecode; the playhead lives in :class:`EditorState`."""

    playing_changed = Signal(bool)

    def __init__(self, document: Document, editor: EditorState, cache: MediaCache,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.editor = editor
        self.cache = cache
        self.speed = 0.0
        self.audio = AudioOut()
        self.preview_images: dict[str, QImage] = {}
        self._clock = QElapsedTimer()
        self._clock_frame = 0
        self._wanted: tuple[str, int] | None = None
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self._fullscreen: FrameView | None = None
        self._fingerprints = FingerprintCache()
        self.comparing: tuple[str, str] | None = None  # (shot id, take id) shown as B beside the take in use
        self.last_audio: np.ndarray | None = None  # the float samples last sent to the sink (tests read them)
        self._last_frame = editor.playhead

        self.frame_view = FrameView()
        self.timecode = QLabel("00:00:00:00")
        self.timecode.setObjectName("timecode")
        self.duration = QLabel("")
        self.duration.setObjectName("dim")
        self.duration.setFont(mono_font(11))
        self.buttons: dict[str, QToolButton] = {}
        transport = QHBoxLayout()
        transport.setContentsMargins(8, 4, 8, 6)
        transport.setSpacing(2)
        transport.addWidget(self.timecode)
        transport.addStretch(1)
        for name, tip, slot in (
            ("mark-in", "Mark in (I)", self.mark_in),
            ("to-start", "Go to start (Home)", self.go_start),
            ("step-back", "Previous frame (←)", lambda: self.step(-1)),
            ("play", "Play / pause (Space)", self.toggle_play),
            ("step-forward", "Next frame (→)", lambda: self.step(1)),
            ("to-end", "Go to end (End)", self.go_end),
            ("mark-out", "Mark out (O)", self.mark_out),
        ):
            b = QToolButton()
            b.setIcon(icon(name))
            b.setIconSize(QSize(22 if name == "play" else 18, 22 if name == "play" else 18))
            b.setToolTip(tip)
            b.setAutoRaise(True)
            b.clicked.connect(slot)
            self.buttons[name] = b
            transport.addWidget(b)
        transport.addStretch(1)
        self.meter = LevelMeter()
        transport.addWidget(self.meter)
        transport.addSpacing(8)
        transport.addWidget(self.duration)
        full = QToolButton()
        full.setIcon(icon("fullscreen"))
        full.setIconSize(QSize(18, 18))
        full.setToolTip("Full screen (F)")
        full.setAutoRaise(True)
        full.clicked.connect(self.toggle_fullscreen)
        self.buttons["fullscreen"] = full
        transport.addWidget(full)
        bar = QWidget()
        bar.setObjectName("transport")
        bar.setStyleSheet("#transport { background-color: #1d1e21; border-top: 1px solid #0f1011; }")
        bar.setLayout(transport)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.frame_view, 1)
        layout.addWidget(bar)

        editor.playhead_changed.connect(self._on_playhead)
        document.changed.connect(self._on_changed)
        cache.ready.connect(self._on_ready)
        self._on_changed("project", None)

    # ------------------------------------------------------------ document
    def set_document(self, document: Document) -> None:
        self.stop()
        self.document.changed.disconnect(self._on_changed)
        self.document = document
        document.changed.connect(self._on_changed)
        self._on_changed("project", None)

    def _on_changed(self, kind: str, subject: object) -> None:
        project = self.document.project
        self.frame_view.aspect = project.width / project.height
        self.duration.setText(frames_to_timecode(project.duration_frames() + start_offset(self.document), project.fps))
        self.show_frame(self.editor.playhead)

    def _on_ready(self, kind: str, key: str) -> None:
        if kind == "frame" and self.comparing is not None:
            self.show_frame(self.editor.playhead)
        elif kind in ("frame", "thumb") and self._wanted is not None and key.startswith(self._wanted[0] + "|"):
            self.show_frame(self.editor.playhead)

    # -------------------------------------------------------------- frames
    def source_at(self, frame: int) -> tuple[Placement | None, str | None, int, bool]:
        """(placement, media path, frame index in it, is_take) for a timeline frame."""
        project = self.document.project
        placement = project.placement_at(frame)
        if placement is None:
            return None, None, 0, False
        take, _stale = shown_take(project, placement.shot, TakeJudge(project, self._fingerprints))
        if take is not None:
            path = project.resolve(take.file)
            if path is not None and path.exists():
                return placement, str(path), take.file_frame(frame - placement.start), True
        character = project.character(placement.shot.character_id)
        if character is not None and character.portrait:
            path = project.resolve(character.portrait)
            if path is not None and path.exists():
                return placement, str(path), 0, False
        return placement, None, 0, False

    def show_frame(self, frame: int) -> None:
        project = self.document.project
        self.timecode.setText(frames_to_timecode(frame + start_offset(self.document), project.fps))
        placement, path, index, is_take = self.source_at(frame)
        if placement is None:
            self._wanted = None
            self._display(None)
            return
        character = project.character(placement.shot.character_id)
        caption = f"{character.name if character else 'No character'}  —  {placement.shot.text[:80]}"
        preview = self.preview_images.get(placement.shot.id)
        if path is None:
            self._display(preview, caption, "RENDERING" if preview is not None else "NO PORTRAIT")
            return
        self._wanted = (path, index)
        if self.comparing is not None and self.comparing[0] == placement.shot.id and is_take:
            self._show_compare(placement, path, index, caption)
            return
        if is_take:
            image = self.cache.frame(path, index)
            take, stale = shown_take(project, placement.shot, TakeJudge(project, self._fingerprints))
            badge = ("STALE " if stale else "") + (f"{take.quality.upper()} TAKE" if take else "")
            if image is None:
                # show the nearest decoded frame until the exact one lands
                for k in range(1, 12):
                    image = self.cache.cached_frame(path, index - k)
                    if image is not None:
                        break
            if image is not None:
                self._display(image, caption, badge)
            return
        image = self.cache.thumbnail(path, 720)
        badge = "RENDERING" if preview is not None else "PORTRAIT · NO TAKE"
        self._display(preview or image, caption, badge)

    def compare(self, shot_id: str, take_id: str) -> None:
        """A/B: the take in use on the left half, ``take_id`` on the right ("" ends it)."""
        self.comparing = (shot_id, take_id) if take_id else None
        project = self.document.project
        placement = next((p for p in project.placements() if p.shot.id == shot_id), None)
        if placement is not None and not placement.start <= self.editor.playhead < placement.end:
            self.editor.set_playhead(placement.start)
        self.show_frame(self.editor.playhead)

    def _show_compare(self, placement: Placement, path_a: str, index_a: int, caption: str) -> None:
        assert self.comparing is not None
        project = self.document.project
        take_b = placement.shot.take(self.comparing[1])
        path_b = project.resolve(take_b.file) if take_b is not None else None
        if take_b is None or path_b is None or not path_b.exists():
            self.comparing = None
            self.show_frame(self.editor.playhead)
            return
        index_b = take_b.file_frame(self.editor.playhead - placement.start)
        a = self.cache.frame(path_a, index_a)
        b = self.cache.frame(str(path_b), index_b)
        if a is None or b is None:
            return  # shown when the decodes land (cache.ready)
        self._display(ab_image(a, b), caption, f"A | B #{placement.shot.takes.index(take_b) + 1} {take_b.quality}")

    def set_preview(self, shot_id: str, jpeg: bytes | None) -> None:
        """Live preview of a shot being rendered (shown where it has no take yet)."""
        if jpeg:
            image = QImage.fromData(jpeg)
            if not image.isNull():
                self.preview_images[shot_id] = image
        else:
            self.preview_images.pop(shot_id, None)
        current = self.document.project.placement_at(self.editor.playhead)
        if current is not None and current.shot.id == shot_id:
            self.show_frame(self.editor.playhead)

    # ------------------------------------------------------------ playback
    @property
    def playing(self) -> bool:
        return self.speed != 0.0

    def play(self, speed: float = 1.0) -> None:
        project = self.document.project
        if self.editor.playhead >= project.duration_frames() - 1 and speed > 0:
            self.editor.set_playhead(0)
        self.speed = speed
        self._clock_frame = self.editor.playhead
        self._clock.start()
        self._timer.start(max(5, int(500 / float(fps_fraction(project.fps)))))
        self._send_audio(self.shuttle_audio(speed))
        self.buttons["play"].setIcon(icon("pause"))
        self.playing_changed.emit(True)

    def stop(self) -> None:
        if self.speed == 0.0:
            return
        self.speed = 0.0
        self._timer.stop()
        self.audio.stop()
        self.buttons["play"].setIcon(icon("play"))
        self.playing_changed.emit(False)

    def toggle_play(self) -> None:
        if self.playing:
            self.stop()
        else:
            self.play(1.0)

    def shuttle_audio(self, speed: float) -> np.ndarray:
        """What plays at ``speed`` from the playhead: the mix, varispeeded (backwards for J)."""
        project = self.document.project
        here = self.editor.playhead
        window = (AUDIO_WINDOW_S if speed == 1.0 else SHUTTLE_WINDOW_S) * abs(speed)
        if speed < 0:
            start = max(0, here - int(window * float(fps_fraction(project.fps))))
            samples = playback_audio.mix(project, self.cache, start, frames_to_seconds(here - start, project.fps))
        else:
            samples = playback_audio.mix(project, self.cache, here, window)
        return playback_audio.at_speed(samples, speed)

    def _send_audio(self, samples: np.ndarray) -> None:
        self.last_audio = samples
        if len(samples):
            self.audio.play(playback_audio.to_pcm16(samples))
        else:
            self.audio.stop()

    def _on_playhead(self, frame: int) -> None:
        """Show the frame; when not playing, a scrub or a frame step plays that frame's sound."""
        previous, self._last_frame = self._last_frame, frame
        self.show_frame(frame)
        project = self.document.project
        self.meter.set_levels(*playback_audio.levels(
            playback_audio.mix(project, self.cache, frame, frames_to_seconds(1, project.fps))))
        if not self.playing and frame != previous:
            self._send_audio(playback_audio.scrub_snippet(project, self.cache, frame, 1 if frame > previous else -1))

    def shuttle(self, direction: int) -> None:
        """J/K/L: each press in the same direction doubles the speed; K stops."""
        if direction == 0:
            self.stop()
            return
        if self.speed and (self.speed > 0) == (direction > 0):
            speed = max(-8.0, min(8.0, self.speed * 2))
        else:
            speed = float(direction)
        self.play(speed)

    def slow(self, direction: int) -> None:
        """Shift+J / Shift+L: half speed, then a quarter, in that direction (sound slowed down too)."""
        if self.speed and (self.speed > 0) == (direction > 0) and abs(self.speed) < 1:
            speed = max(0.25, abs(self.speed) / 2) * direction
        else:
            speed = 0.5 * direction
        self.play(speed)

    def _tick(self) -> None:
        project = self.document.project
        elapsed = self._clock.nsecsElapsed() / 1e9
        frame = self._clock_frame + int(elapsed * float(fps_fraction(project.fps)) * self.speed)
        end = max(0, project.duration_frames() - 1)
        if (self.speed > 0 and frame >= end) or (self.speed < 0 and frame <= 0):
            frame = max(0, min(end, frame))
            self.editor.set_playhead(frame)
            self.stop()
            return
        self.editor.set_playhead(frame)

    def step(self, frames: int) -> None:
        self.stop()
        self.editor.set_playhead(max(0, min(self.document.project.duration_frames(), self.editor.playhead + frames)))

    def go_start(self) -> None:
        self.stop()
        self.editor.set_playhead(0)

    def go_end(self) -> None:
        """After the last frame, as in Premiere and Resolve (the next edit starts there)."""
        self.stop()
        self.editor.set_playhead(self.document.project.duration_frames())

    def mark_in(self) -> None:
        out = self.editor.mark_out
        if out is not None and out <= self.editor.playhead:
            out = None
        self.editor.set_in_out(self.editor.playhead, out)

    def mark_out(self) -> None:
        mark_in = self.editor.mark_in
        if mark_in is not None and mark_in >= self.editor.playhead:
            mark_in = None
        self.editor.set_in_out(mark_in, self.editor.playhead)

    def _display(self, image: QImage | None, caption: str = "", badge: str = "") -> None:
        self.frame_view.set_image(image, caption, badge)
        if self._fullscreen is not None:
            self._fullscreen.set_image(image, caption, badge)

    def toggle_fullscreen(self) -> None:
        """Show the picture alone on the whole screen; Esc or F brings it back."""
        if self._fullscreen is not None:
            view, self._fullscreen = self._fullscreen, None
            view.close()
            view.deleteLater()
            return
        view = FrameView()
        view.setWindowTitle("Soul Studio — Viewer")
        view.aspect = self.frame_view.aspect
        view.escape.connect(self.toggle_fullscreen)
        view.set_image(self.frame_view.image, self.frame_view.caption, self.frame_view.badge)
        view.showFullScreen()
        self._fullscreen = view
