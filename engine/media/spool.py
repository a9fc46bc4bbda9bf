"""Decoded audio kept in an anonymous temporary file and read back a window at a time.

An hour of dialogue at 16 kHz is 230 MB as float32, but the analysis of a shot (per-frame
spectra, 10 ms levels, 20-second pieces for the phone decoder) only ever looks at a few
seconds at once. :func:`spool_audio` decodes a range block by block into an unlinked
temporary file (nothing is left behind when the engine is killed) and returns a
:class:`SpooledAudio` whose ``spool[a:b]`` reads exactly those samples with a seek and a
``readinto``. It is deliberately not a ``numpy.memmap``: mapped pages count in the
process's resident memory as they are touched, so reading an hour would grow it by the
hour. Slicing follows numpy's rules, so code written for an array works unchanged on
either (see :func:`sample_source`), with the same results to the bit.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from engine.media.audio import iter_audio_blocks
from engine.media.errors import MediaError

_ITEM = np.dtype(np.float32).itemsize


class SampleSource(Protocol):
    """Mono float32 samples that can be sliced: a 1-D numpy array or a :class:`SpooledAudio`."""

    @property
    def size(self) -> int: ...

    def __getitem__(self, key: slice) -> np.ndarray: ...


class SpooledAudio:
    """Mono float32 samples in an unlinked temporary file; ``spool[a:b]`` reads them back.

    Looks like a mono :class:`~engine.media.audio.AudioClip` to the sketch analysis
    (``sample_rate``, ``channels``, ``num_samples``, ``duration``, ``mono()``) and like a
    1-D array to the code that slices samples (``size``, ``len``, ``[a:b]``). Samples past
    what was written read as silence, so a spool can be given its length up front.
    """

    channels = 1

    def __init__(self, sample_rate: int, directory: str | os.PathLike[str] | None = None) -> None:
        self.sample_rate = int(sample_rate)
        self.warnings: list[str] = []
        self._file = tempfile.TemporaryFile(prefix="soul-audio-", suffix=".f32", dir=directory, buffering=0)
        self._written = 0
        self._size = 0
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- writing
    def append(self, samples: np.ndarray) -> None:
        """Add mono samples at the end of what was written (the length grows to cover them)."""
        data = np.ascontiguousarray(np.asarray(samples, np.float32).reshape(-1))
        with self._lock:
            self._file.seek(self._written * _ITEM)
            view = memoryview(data).cast("B")
            while view:
                done = self._file.write(view)
                view = view[done:]
            self._written += data.size
            self._size = max(self._size, self._written)

    def set_length(self, num_samples: int) -> None:
        """Make the clip exactly ``num_samples`` long: silence after what was written, or cut short."""
        self._size = max(0, int(num_samples))
        self._written = min(self._written, self._size)

    # ----------------------------------------------------------------- reading
    @property
    def size(self) -> int:
        return self._size

    @property
    def num_samples(self) -> int:
        return self._size

    @property
    def duration(self) -> float:
        return self._size / float(self.sample_rate)

    def __len__(self) -> int:
        return self._size

    def mono(self) -> SpooledAudio:
        return self

    def __getitem__(self, key: slice) -> np.ndarray:
        if not isinstance(key, slice):
            raise TypeError("a spooled clip is read in slices, spool[a:b]")
        start, stop, step = key.indices(self._size)
        if step != 1:
            raise ValueError("a spooled clip is read in contiguous slices")
        out = np.zeros(max(0, stop - start), np.float32)
        count = min(stop, self._written) - start
        if count > 0:
            view = memoryview(out).cast("B")[: count * _ITEM]
            with self._lock:
                self._file.seek(start * _ITEM)
                while view:
                    got = self._file.readinto(view)
                    if not got:
                        raise OSError("the spooled audio file ended early")
                    view = view[got:]
        return out

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> SpooledAudio:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sample_source(samples: object) -> np.ndarray | SpooledAudio:
    """``samples`` as something to slice: a spool as it is, anything else as a 1-D float32 array."""
    if isinstance(samples, SpooledAudio):
        return samples
    return np.asarray(samples, dtype=np.float32).reshape(-1)


def spool_audio(path: str | os.PathLike[str] | None, sample_rate: int, start: float, end: float | None,
                duration: float, directory: str | os.PathLike[str] | None = None,
                check: Callable[[], None] | None = None, lead: float = 0.0) -> SpooledAudio:
    """Decode ``path`` from ``start`` (to ``end``) as mono into a spool exactly ``duration`` long.

    Only the samples the clip keeps are decoded (silence pads a short file; no ``path``
    gives silence); ``lead`` seconds of silence come first (a pause before the line);
    ``check`` runs between blocks so a cancel stops a long decode.
    """
    folder = directory if directory is not None and Path(directory).is_dir() else None
    spool = SpooledAudio(sample_rate, folder)
    wanted = int(round(duration * spool.sample_rate))
    try:
        silent = min(wanted, int(round(max(0.0, lead) * spool.sample_rate)))
        quiet = np.zeros(min(silent, 10 * spool.sample_rate), np.float32)
        while spool.size < silent:  # a long pause is written ten seconds at a time
            spool.append(quiet[: silent - spool.size])
        if path and spool.size < wanted:
            blocks = iter_audio_blocks(path, spool.sample_rate, 1, start, end, block_seconds=10.0,
                                       warnings=spool.warnings)
            try:
                for block in blocks:
                    if check is not None:
                        check()
                    spool.append(block.samples[0, : wanted - spool.size])
                    if spool.size >= wanted:
                        break
            finally:
                blocks.close()
            if spool.size == silent and wanted > silent:
                raise MediaError(Path(path), "audio stream holds no samples", "record or export the line again")
        spool.set_length(wanted)
    except BaseException:
        spool.close()
        raise
    return spool


__all__ = ["SampleSource", "SpooledAudio", "sample_source", "spool_audio"]
