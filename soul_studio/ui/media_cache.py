"""Thumbnails, waveforms, decoded frames and audio, made on a thread pool.

The UI thread never decodes: it asks for an item, gets it at once when cached or None
while a worker makes it, and hears ``ready(key)`` when it lands. Keys carry the file's
mtime so a re-rendered take or replaced portrait is decoded again.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import av
import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage

from engine.media import MediaError, load_audio, load_portrait
from soul_studio.ui.gui_gc import GuiThreadCollector

PEAKS_PER_SECOND = 200
WAVEFORM_RATE = 8000
PLAYBACK_RATE = 48_000
FRAME_MAX_WIDTH = 1280


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """Copy an (H, W, 3) uint8 array into a QImage that owns its pixels."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def _mtime(path: str | os.PathLike[str]) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


def compute_peaks(path: str | os.PathLike[str]) -> np.ndarray:
    """Absolute peak level per 1/200 s of a file (float32, 0..1) for waveform drawing."""
    clip = load_audio(path, sample_rate=WAVEFORM_RATE, channels=1)
    mono = np.abs(clip.samples[0])
    block = WAVEFORM_RATE // PEAKS_PER_SECOND
    n = len(mono) // block
    peaks = mono[: n * block].reshape(n, block).max(axis=1) if n else np.zeros(0, np.float32)
    if len(mono) > n * block:
        peaks = np.append(peaks, mono[n * block:].max())
    return np.clip(peaks, 0.0, 1.0).astype(np.float32)


class _FrameReader:
    """Keeps a movie open and decodes forward without seeking while playback advances."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.container: av.container.InputContainer | None = None
        self.frames: Any = None
        self.next_index = 0

    def _open(self) -> None:
        self.close()
        self.container = av.open(self.path)
        stream = self.container.streams.video[0]
        stream.thread_type = "AUTO"
        self.frames = self.container.decode(stream)
        self.next_index = 0

    def read(self, index: int) -> np.ndarray | None:
        with self.lock:
            if self.container is None or index < self.next_index or index > self.next_index + 48:
                self._open()
            last = None
            while self.next_index <= index:
                try:
                    frame = next(self.frames)
                except StopIteration:
                    self._open()
                    return None if last is None else last.to_ndarray(format="rgb24")
                self.next_index += 1
                last = frame
            return None if last is None else last.to_ndarray(format="rgb24")

    def close(self) -> None:
        if self.container is not None:
            self.container.close()
            self.container = None


class MediaCache(QObject):
    """Asynchronous, size-bounded caches of everything the panels draw."""

    ready = Signal(str, str)  # kind ("thumb", "wave", "frame", "audio"), key
    failed = Signal(str, str, str)  # kind, path, message

    def __init__(self, workers: int = 2, parent: QObject | None = None) -> None:
        super().__init__(parent)
        GuiThreadCollector.hold_for(self)  # decoders allocate on worker threads
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="soul-media")
        self._frame_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="soul-frames")
        self._lock = threading.Lock()
        self._items: dict[str, OrderedDict[str, Any]] = {k: OrderedDict() for k in ("thumb", "wave", "frame", "audio")}
        self._limits = {"thumb": 2000, "wave": 400, "frame": 240, "audio": 40}
        self._pending: set[tuple[str, str]] = set()
        self._errors: dict[str, str] = {}
        self._readers: OrderedDict[str, _FrameReader] = OrderedDict()
        self._closed = False
        self._running: set[Future[None]] = set()
        self.ready.connect(self._noop, Qt.ConnectionType.QueuedConnection)

    def _noop(self, *_args: object) -> None:
        """Keeps the queued connection alive so worker emits reach the GUI thread."""

    # ------------------------------------------------------------ plumbing
    def _get(self, kind: str, key: str) -> Any:
        with self._lock:
            items = self._items[kind]
            if key in items:
                items.move_to_end(key)
                return items[key]
        return None

    def _put(self, kind: str, key: str, value: Any) -> None:
        with self._lock:
            items = self._items[kind]
            items[key] = value
            items.move_to_end(key)
            while len(items) > self._limits[kind]:
                items.popitem(last=False)

    def _submit(self, kind: str, key: str, path: str, make: Callable[[], Any], pool: ThreadPoolExecutor | None = None) -> None:
        if self._closed:
            return
        with self._lock:
            if (kind, key) in self._pending or key in self._errors:
                return
            self._pending.add((kind, key))

        def run() -> None:
            try:
                value = make()
            except (MediaError, av.FFmpegError, OSError, ValueError, IndexError) as exc:
                with self._lock:
                    self._pending.discard((kind, key))
                    self._errors[key] = str(exc)
                if not self._closed:
                    self.failed.emit(kind, path, str(exc))
                return
            self._put(kind, key, value)
            with self._lock:
                self._pending.discard((kind, key))
            if not self._closed:
                self.ready.emit(kind, key)

        future: Future[None] = (pool or self._pool).submit(run)
        with self._lock:
            self._running.add(future)
        future.add_done_callback(self._finished)

    def _finished(self, future: Future[None]) -> None:
        with self._lock:
            self._running.discard(future)

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def error_for(self, path: str | os.PathLike[str]) -> str | None:
        prefix = os.fspath(path) + "|"
        with self._lock:
            for key, message in self._errors.items():
                if key.startswith(prefix):
                    return message
        return None

    def forget(self, path: str | os.PathLike[str]) -> None:
        """Drop everything cached for ``path`` (relinked or re-rendered)."""
        prefix = os.fspath(path) + "|"
        with self._lock:
            for items in self._items.values():
                for key in [k for k in items if k.startswith(prefix)]:
                    del items[key]
            for key in [k for k in self._errors if k.startswith(prefix)]:
                del self._errors[key]

    def shutdown(self, grace_s: float = 3.0) -> None:
        """Stop the workers: queued work is dropped, work under way gets ``grace_s`` to finish,
        so no worker signals a cache that Qt has already deleted with its window."""
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._frame_pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            running = list(self._running)
        wait(running, timeout=grace_s)
        for reader in self._readers.values():
            with reader.lock:
                reader.close()

    # ------------------------------------------------------------- items
    def thumbnail(self, path: str | os.PathLike[str], height: int = 96, video: bool = False) -> QImage | None:
        """A small still of a portrait, or the first frame of a take (``video``)."""
        p = os.fspath(path)
        key = f"{p}|{_mtime(p)}|{height}"
        hit = self._get("thumb", key)
        if hit is not None:
            return hit

        def make() -> QImage:
            if video:
                reader = _FrameReader(p)
                rgb = reader.read(0)
                reader.close()
                if rgb is None:
                    raise MediaError(p, "take has no frames")
            else:
                rgb = load_portrait(p)
            image = rgb_to_qimage(rgb)
            return image.scaledToHeight(height, Qt.TransformationMode.SmoothTransformation)

        self._submit("thumb", key, p, make)
        return None

    def waveform(self, path: str | os.PathLike[str]) -> np.ndarray | None:
        p = os.fspath(path)
        key = f"{p}|{_mtime(p)}"
        hit = self._get("wave", key)
        if hit is not None:
            return hit
        self._submit("wave", key, p, lambda: compute_peaks(p))
        return None

    def audio(self, path: str | os.PathLike[str]) -> np.ndarray | None:
        """Interleaved stereo int16 PCM at 48 kHz for playback."""
        p = os.fspath(path)
        key = f"{p}|{_mtime(p)}"
        hit = self._get("audio", key)
        if hit is not None:
            return hit

        def make() -> np.ndarray:
            clip = load_audio(p, sample_rate=PLAYBACK_RATE, channels=2)
            pcm = np.clip(clip.samples.T, -1.0, 1.0)
            return (pcm * 32767.0).astype(np.int16)

        self._submit("audio", key, p, make)
        return None

    def frame(self, path: str | os.PathLike[str], index: int) -> QImage | None:
        p = os.fspath(path)
        key = f"{p}|{_mtime(p)}|{int(index)}"
        hit = self._get("frame", key)
        if hit is not None:
            return hit

        def make() -> QImage:
            reader = self._reader(p)
            rgb = reader.read(int(index))
            if rgb is None:
                raise IndexError(f"{p}: no frame {index}")
            image = rgb_to_qimage(rgb)
            if image.width() > FRAME_MAX_WIDTH:
                image = image.scaledToWidth(FRAME_MAX_WIDTH, Qt.TransformationMode.SmoothTransformation)
            return image

        self._submit("frame", key, p, make, self._frame_pool)
        return None

    def cached_frame(self, path: str | os.PathLike[str], index: int) -> QImage | None:
        p = os.fspath(path)
        return self._get("frame", f"{p}|{_mtime(p)}|{int(index)}")

    def _reader(self, path: str) -> _FrameReader:
        with self._lock:
            reader = self._readers.get(path)
            if reader is None:
                reader = self._readers[path] = _FrameReader(path)
                while len(self._readers) > 6:
                    _, old = self._readers.popitem(last=False)
                    with old.lock:
                        old.close()
            return reader

    def portrait_size(self, path: str | os.PathLike[str]) -> tuple[int, int] | None:
        image = QImage(os.fspath(path))
        return None if image.isNull() else (image.width(), image.height())


def is_image(path: str | os.PathLike[str]) -> bool:
    from engine.media.image import IMAGE_SUFFIXES

    return Path(path).suffix.lower() in IMAGE_SUFFIXES


AUDIO_SUFFIXES = (".wav", ".mp3", ".m4a", ".aac", ".flac", ".ogg", ".opus", ".aif", ".aiff")


def is_audio(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in AUDIO_SUFFIXES
