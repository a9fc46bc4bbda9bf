"""The dialogue track of a long cut, decoded as the encoder asks for it.

:func:`soundtrack_source` gives the movie writer the same samples as
:func:`~soul_studio.export.soundtrack.build_soundtrack`, but for a cut longer than
:data:`STREAM_AFTER_S` it does not build them in memory first: each shot's line is
streamed from its file (``engine.media.audio.iter_audio_blocks``) when the writer reaches
it, so an hour-long export holds a few seconds of sound at a time.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from engine.media import DELIVERY_RATE, AudioClip, MediaError
from engine.media.audio import SequentialAudio, iter_audio_blocks
from soul_studio.export.cut import Cut, Segment
from soul_studio.export.soundtrack import CHANNELS, _source, build_soundtrack, sample_at
from soul_studio.project.model import Project

STREAM_AFTER_S = 60.0


class _Piece:
    """One shot's samples on the track: ``[at, at + count)``, read in order from its source."""

    def __init__(self, project: Project, seg: Segment, fps: float, take_audio: bool, warnings: list[str]) -> None:
        self.seg = seg
        self.at = sample_at(seg.record_start, fps)
        self.skip = sample_at(seg.offset, fps)
        self.count = sample_at(seg.offset + seg.length, fps) - self.skip
        self.source = _source(project, seg, take_audio)
        self.warnings = warnings
        self._blocks: Iterator[AudioClip] | None = None
        self._held = np.zeros((CHANNELS, 0), np.float32)
        self._done = self.source is None

    def read(self, n: int) -> np.ndarray:
        """The next ``n`` samples of the piece (silence once its source ends or fails)."""
        out = np.zeros((CHANNELS, n), np.float32)
        filled = 0
        while filled < n and not self._done:
            if self._held.shape[1] == 0:
                self._held = self._next()
                continue
            take = min(n - filled, self._held.shape[1])
            out[:, filled : filled + take] = self._held[:, :take]
            self._held = self._held[:, take:]
            filled += take
        return out

    def _next(self) -> np.ndarray:
        assert self.source is not None
        path, start, end = self.source
        try:
            if self._blocks is None:
                self._blocks = iter_audio_blocks(path, DELIVERY_RATE, CHANNELS, start, end, block_seconds=5.0)
            block = next(self._blocks, None)
        except MediaError as exc:
            self._done = True
            if not (path == str(self.seg.take_path) and "no audio stream" in str(exc)):
                self.warnings.append(f"{self.seg.name!r}: audio could not be read ({exc}); exported as silence")
            return np.zeros((CHANNELS, 0), np.float32)
        if block is None:
            self._done = True
            return np.zeros((CHANNELS, 0), np.float32)
        samples = block.samples
        if self.skip:  # the segment starts this far into its shot's line
            dropped = min(self.skip, samples.shape[1])
            samples, self.skip = samples[:, dropped:], self.skip - dropped
        return samples


class StreamedSoundtrack(SequentialAudio):
    """Looks like an :class:`~engine.media.AudioClip` to the movie writer; read in order."""

    def __init__(self, project: Project, cut: Cut, take_audio: bool, warnings: list[str]) -> None:
        self.sample_rate = DELIVERY_RATE
        self.channels = CHANNELS
        self.num_samples = sample_at(cut.length, cut.fps)
        self.warnings = warnings
        self._pieces = sorted((_Piece(project, seg, cut.fps, take_audio, warnings) for seg in cut.shots()),
                              key=lambda p: p.at)
        self._position = 0

    def block(self, start: int, count: int) -> np.ndarray:
        if start != self._position:
            raise ValueError("a streamed soundtrack is read in order")
        out = np.zeros((CHANNELS, count), np.float32)
        end = start + count
        for piece in self._pieces:
            lo, hi = max(start, piece.at), min(end, piece.at + piece.count, self.num_samples)
            if hi > lo:
                out[:, lo - start : hi - start] = piece.read(hi - lo)
        self._pieces = [p for p in self._pieces if p.at + p.count > end]
        self._position = end
        return out


def soundtrack_source(project: Project, cut: Cut, take_audio: bool = False,
                      warnings: list[str] | None = None) -> AudioClip | StreamedSoundtrack:
    """What the movie writer encodes: the whole track for a short cut, a stream for a long one."""
    warnings = warnings if warnings is not None else []
    if cut.length / float(cut.fps) <= STREAM_AFTER_S:
        return build_soundtrack(project, cut, take_audio, warnings)
    return StreamedSoundtrack(project, cut, take_audio, warnings)
