"""Python's cycle collector runs on the GUI thread only while the studio's widgets live.

CPython collects reference cycles in whichever thread happens to allocate past the
collector's threshold: a media-cache decoder, the export thread, the face analysis. Cycles
in a Qt program hold Qt wrappers (settings, fonts, images, actions of closed panels), and
destroying those off the GUI thread can crash Qt. While any holder is alive, automatic
collection is off and a GUI-thread timer runs the same generational collections by the
collector's own thresholds, so garbage is still freed at the usual pace.
"""

from __future__ import annotations

import functools
import gc
import itertools
import threading

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, QTimer, Signal

POLL_MS = 100


class GuiThreadCollector(QObject):
    """One per application (a child of it); knows its holders, collects on a timer."""

    _release_later = Signal(int)  # a holder destroyed off the GUI thread releases through the loop
    _timer_wanted = Signal(bool)  # the timer is started and stopped on the GUI thread only

    def __init__(self, app: QCoreApplication, poll_ms: int = POLL_MS) -> None:
        super().__init__(app)
        self.setObjectName("soul-gui-thread-collector")
        self._held: set[int] = set()
        self._tokens = itertools.count(1)
        self._lock = threading.Lock()
        self._was_enabled = gc.isenabled()
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self.collect_due)
        self._release_later.connect(self._release_now, Qt.ConnectionType.QueuedConnection)
        self._timer_wanted.connect(self._run_timer)

    @classmethod
    def of(cls, app: QCoreApplication | None = None) -> GuiThreadCollector | None:
        """The application's collector, made on first use (None without an application)."""
        app = app or QCoreApplication.instance()
        if app is None:
            return None
        found = app.findChild(cls, "soul-gui-thread-collector")
        return found if found is not None else cls(app)

    @classmethod
    def hold_for(cls, owner: QObject) -> None:
        """Keep collection on the GUI thread until ``owner`` is destroyed."""
        collector = cls.of()
        if collector is None:
            return
        token = collector.acquire()
        # direct: the slot never sees the dying object after its thread let go of it
        owner.destroyed.connect(functools.partial(collector.release, token), Qt.ConnectionType.DirectConnection)

    @property
    def holders(self) -> int:
        return len(self._held)

    def acquire(self) -> int:
        """Hold collection on the GUI thread; returns the token that :meth:`release` takes."""
        with self._lock:
            token = next(self._tokens)
            first = not self._held
            self._held.add(token)
            if first:
                self._was_enabled = gc.isenabled()
                gc.disable()
        if first:
            self._timer_wanted.emit(True)
        return token

    def release(self, token: int, *_args: object) -> None:
        """Let go of ``token`` (once; a second release of it does nothing)."""
        if QThread.currentThread() is not self.thread():
            self._release_later.emit(token)
            return
        self._release_now(token)

    def _release_now(self, token: int) -> None:
        with self._lock:
            if token not in self._held:
                return
            self._held.discard(token)
            last = not self._held
        if last:
            self._timer_wanted.emit(False)
            gc.collect()  # what was left, here, before anyone else may collect again
            if self._was_enabled:
                gc.enable()

    def _run_timer(self, on: bool) -> None:
        if on and self._held:
            self._timer.start()
        elif not on and not self._held:
            self._timer.stop()

    def collect_due(self) -> int:
        """Collect the oldest generation past its threshold, as the automatic collector would."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        if counts[0] <= thresholds[0]:
            return 0
        generation = 0
        if counts[1] > thresholds[1]:
            generation = 2 if counts[2] > thresholds[2] else 1
        return gc.collect(generation)
