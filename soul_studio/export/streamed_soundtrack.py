"""The sound of a long cut, decoded as the encoder asks for it.

:func:`soundtrack_source` gives the movie writer the same samples as
:func:`~soul_studio.export.soundtrack.build_soundtrack` (the same plan of pieces), but for a
cut longer than :data:`STREAM_AFTER_S` it does not build them in memory first: each
piece is streamed from its file (``engine.media.audio.iter_audio_blocks``) when the writer
reaches it, so an hour-long export holds a few seconds of sound at a time.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from engine.media import DELIVERY_RATE, AudioClip, MediaError
from engine.media.audio import SequentialAudio, iter_audio_blocks
from soul_studio.export.cut import Cut
from soul_studio.export.soundtrack import CHANNELS, Piece, build_soundtrack, plan_soundtrack, sample_at
from soul_studio.project.model import Project

STREAM_AFTER_S = 60.0


class _Reader:
    """One piece's samples, read in order: its opening silence, then its source, then silence."""

    def __init__(self, piece: Piece, warnings: list[str]) -> None:
        self.piece = piece
        self.warnings = warnings
        self._blocks: Iterator[AudioClip] | None = None
        self._held = np.zeros((CHANNELS, piece.silence_first), np.float32)
        self._skip = piece.source_skip
        self._done = False

    def read(self, n: int) -> np.ndarray:
        """The next ``n`` samples of the piece (silence once its source ends or fails)."""
        out = np.zeros((CHANNELS, n), np.float32)
        filled = 0
        while filled < n:
            if self._held.shape[1] == 0:
                if self._done:
                    break
                self._held = self._next()
                continue
            take = min(n - filled, self._held.shape[1])
            out[:, filled : filled + take] = self._held[:, :take]
            self._held = self._held[:, take:]
            filled += take
        return out

    def _next(self) -> np.ndarray:
        piece = self.piece
        try:
            if self._blocks is None:
                self._blocks = iter_audio_blocks(piece.path, DELIVERY_RATE, CHANNELS, piece.start, piece.end,
                                                 block_seconds=5.0)
            block = next(self._blocks, None)
        except MediaError as exc:
            self._done = True
            problem = piece.problem(exc)
            if problem:
                self.warnings.append(problem)
            return np.zeros((CHANNELS, 0), np.float32)
        if block is None:
            self._done = True
            return np.zeros((CHANNELS, 0), np.float32)
        samples = block.samples
        if self._skip:  # the piece starts this far into its source
            dropped = min(self._skip, samples.shape[1])
            samples, self._skip = samples[:, dropped:], self._skip - dropped
        return samples * piece.gain if piece.gain != 1.0 else samples


class StreamedSoundtrack(SequentialAudio):
    """Looks like an :class:`~engine.media.AudioClip` to the movie writer; read in order."""

    def __init__(self, project: Project, cut: Cut, take_audio: bool, warnings: list[str]) -> None:
        self.sample_rate = DELIVERY_RATE
        self.channels = CHANNELS
        self.num_samples = sample_at(cut.length, cut.fps)
        self.warnings = warnings
        pieces = sorted(plan_soundtrack(project, cut, take_audio), key=lambda p: p.at)
        self._readers = [_Reader(p, warnings) for p in pieces]
        self._position = 0

    def block(self, start: int, count: int) -> np.ndarray:
        if start != self._position:
            raise ValueError("a streamed soundtrack is read in order")
        out = np.zeros((CHANNELS, count), np.float32)
        end = start + count
        for reader in self._readers:
            piece = reader.piece
            if piece.at >= end:
                break  # sorted: the rest start later
            lo, hi = max(start, piece.at), min(end, piece.at + piece.count, self.num_samples)
            if hi > lo:
                out[:, lo - start : hi - start] += reader.read(hi - lo)
        self._readers = [r for r in self._readers if r.piece.at + r.piece.count > end]
        self._position = end
        np.clip(out, -1.0, 1.0, out=out)
        return out


def soundtrack_source(project: Project, cut: Cut, take_audio: bool = False,
                      warnings: list[str] | None = None) -> AudioClip | StreamedSoundtrack:
    """What the movie writer encodes: the whole track for a short cut, a stream for a long one."""
    warnings = warnings if warnings is not None else []
    if cut.length / float(cut.fps) <= STREAM_AFTER_S:
        return build_soundtrack(project, cut, take_audio, warnings)
    return StreamedSoundtrack(project, cut, take_audio, warnings)
