"""Run a picture source one step ahead of the encoder, on a thread of its own.

Decoding a take, scaling it and converting stills to YUV all happen in FFmpeg, OpenCV or
NumPy, which release the GIL; so does the encoder. Producing the next few pictures on a
second thread while the encoder works on the current one keeps both cores busy, which is
most of what makes a 1080p conform several times faster than real time on two cores.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_DONE = object()


class _Failure:
    """An exception raised by the source, carried to the consuming thread."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class Prefetch(Generic[T]):
    """Iterate ``source`` on a worker thread, at most ``depth`` items ahead of the reader.

    The queue is bounded so a fast decoder never holds more than a few 1080p frames in
    memory. Errors in the source are raised in the reader at the point they occurred;
    :meth:`close` (or leaving a ``with`` block early) stops the worker and closes the
    source on the worker's thread, so a take's file is released before ``close`` returns.
    """

    def __init__(self, source: Iterable[T], depth: int = 4, name: str = "export-prefetch") -> None:
        self._source = source
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        iterator = iter(self._source)
        try:
            for item in iterator:
                if not self._put(item):
                    return
            self._put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the reader, raised there
            self._put(_Failure(exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    def _put(self, item: object) -> bool:
        """Queue ``item`` unless the reader has gone; False when the worker should stop."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[T]:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]

    def close(self) -> None:
        """Stop the worker and wait for it to let go of the source."""
        self._stop.set()
        while True:  # unblock a worker waiting on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join()

    def __enter__(self) -> Prefetch[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
