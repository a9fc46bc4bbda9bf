"""Audio in and out through PyAV: any common format, any rate, resampled as needed.

Samples are float32, planar ``(channels, samples)`` in [-1, 1]. The model wants 16 kHz
mono, delivery wants 48 kHz; both come from :func:`load_audio` with a target rate.

Long recordings need not fit in memory: :func:`iter_audio_blocks` decodes a range block
by block, and :class:`StreamedAudio` is a clip the movie writer reads sequentially, so
an hour of dialogue costs a few blocks of memory, not gigabytes. A decode that ends
before the file's header says it should (a truncated MP3) is noted in ``clip.warnings``
with the time it stopped. FIFOs and devices are refused by type before they are opened.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from engine.limits import max_shot_seconds, special_file_problem
from engine.media.errors import MediaError

MODEL_RATE = 16_000
DELIVERY_RATE = 48_000
AUDIO_SUFFIXES = (".wav", ".mp3", ".m4a", ".aac", ".flac", ".ogg", ".opus", ".aif", ".aiff", ".mp4", ".mov")
SILENCE_DBFS = -60.0


@dataclass
class AudioClip:
    """Decoded audio: ``samples`` float32 (channels, n) at ``sample_rate`` Hz."""

    samples: np.ndarray
    sample_rate: int
    warnings: list[str] = field(default_factory=list, compare=False)

    def __post_init__(self) -> None:
        s = np.asarray(self.samples, dtype=np.float32)
        if s.ndim == 1:
            s = s[None, :]
        self.samples = np.ascontiguousarray(s)

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def num_samples(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration(self) -> float:
        return self.num_samples / float(self.sample_rate)

    def mono(self) -> np.ndarray:
        """Mono samples (n,), the mean of the channels."""
        return self.samples.mean(axis=0) if self.channels > 1 else self.samples[0]

    def as_channels(self, channels: int) -> AudioClip:
        if channels == self.channels:
            return self
        if channels == 1:
            return AudioClip(self.mono()[None, :], self.sample_rate)
        base = self.mono()[None, :] if self.channels == 1 else self.samples[:1]
        return AudioClip(np.repeat(base, channels, axis=0), self.sample_rate)

    def slice(self, start: float, end: float | None = None) -> AudioClip:
        a = max(0, int(round(start * self.sample_rate)))
        b = self.num_samples if end is None else max(a, int(round(end * self.sample_rate)))
        return AudioClip(self.samples[:, a:b], self.sample_rate)

    def block(self, start: int, count: int) -> np.ndarray:
        """Samples ``start`` to ``start + count`` (silence past the end), for sequential writers."""
        out = self.samples[:, start : start + count]
        if out.shape[1] < count:
            out = np.pad(out, ((0, 0), (0, count - out.shape[1])))
        return np.ascontiguousarray(out)

    def with_lead(self, seconds: float) -> AudioClip:
        """The clip after ``seconds`` of silence (a shot's pause before its line)."""
        n = int(round(max(0.0, seconds) * self.sample_rate))
        if n == 0:
            return self
        pad = np.zeros((self.channels, n), dtype=np.float32)
        return AudioClip(np.concatenate([pad, self.samples], axis=1), self.sample_rate, list(self.warnings))

    def fit_duration(self, duration: float) -> AudioClip:
        """Pad with silence or trim so the clip lasts exactly ``duration`` seconds."""
        n = int(round(duration * self.sample_rate))
        if n <= self.num_samples:
            return AudioClip(self.samples[:, :n], self.sample_rate)
        pad = np.zeros((self.channels, n - self.num_samples), dtype=np.float32)
        return AudioClip(np.concatenate([self.samples, pad], axis=1), self.sample_rate)

    def resample(self, rate: int) -> AudioClip:
        if rate == self.sample_rate:
            return self
        return AudioClip(resample(self.samples, self.sample_rate, rate), rate)

    def rms_dbfs(self) -> float:
        if self.num_samples == 0:
            return -np.inf
        rms = float(np.sqrt(np.mean(np.square(self.samples, dtype=np.float64))))
        return 20.0 * np.log10(rms) if rms > 0 else -np.inf

    def is_silent(self, threshold_dbfs: float = SILENCE_DBFS) -> bool:
        return self.rms_dbfs() < threshold_dbfs

    @classmethod
    def silence(cls, duration: float, sample_rate: int = DELIVERY_RATE, channels: int = 1) -> AudioClip:
        return cls(np.zeros((channels, int(round(duration * sample_rate))), np.float32), sample_rate)


@dataclass
class AudioInfo:
    """What :func:`probe_audio` reads from a header without decoding everything."""

    path: str
    duration: float
    sample_rate: int
    channels: int
    codec: str


def _layout_name(channels: int) -> str:
    return {1: "mono", 2: "stereo"}.get(channels, f"{channels}c")


def _check_file(p: Path) -> None:
    if not p.exists():
        raise MediaError(p, "audio file not found", "relink it or import it again")
    if p.is_dir():
        raise MediaError(p, "expected an audio file, found a folder")
    problem = special_file_problem(p)  # a FIFO or a device would block or never end
    if problem:
        raise MediaError(p, f"the audio path {problem}", "use a WAV, MP3, M4A, FLAC or OGG file")
    if p.stat().st_size == 0:
        raise MediaError(p, "audio file is empty (0 bytes)", "record or export the line again")


def _open(p: Path) -> av.container.InputContainer:
    _check_file(p)
    try:
        container = av.open(str(p), mode="r")
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(p, f"not a readable audio file ({exc})", "use WAV, MP3, M4A, FLAC or OGG") from exc
    if not container.streams.audio:
        container.close()
        raise MediaError(p, "file has no audio stream", "pick the dialogue recording, not a still or a silent video")
    return container


def probe_audio(path: str | os.PathLike[str]) -> AudioInfo:
    """Duration, rate, channels and codec of an audio file."""
    p = Path(path)
    with _open(p) as container:
        stream = container.streams.audio[0]
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        rate = int(stream.codec_context.sample_rate or stream.rate or 0)
        channels = int(stream.codec_context.channels or 0)
        codec = stream.codec_context.name
    if duration is None or duration <= 0 or rate <= 0:
        clip = load_audio(p)
        return AudioInfo(str(p), clip.duration, clip.sample_rate, clip.channels, codec)
    return AudioInfo(str(p), duration, rate, channels, codec)


def _header_duration(container: av.container.InputContainer, stream: av.audio.AudioStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


class _Decoder:
    """Decoded, resampled blocks of ``[start, end)`` in the file's own channel layout."""

    def __init__(self, path: Path, sample_rate: int | None, start: float, end: float | None) -> None:
        self.path = path
        self.container = _open(path)
        stream = self.container.streams.audio[0]
        self.stream = stream
        self.src_rate = int(stream.codec_context.sample_rate or 0)
        self.channels = int(stream.codec_context.channels or 1)
        self.rate = int(sample_rate or self.src_rate)
        if self.rate <= 0:
            self.container.close()
            raise MediaError(path, "audio stream has no sample rate")
        self.start, self.end = max(0.0, start), end
        self.header_duration = _header_duration(self.container, stream)
        self.warnings: list[str] = []
        self.decoded_until = self.start

    def close(self) -> None:
        self.container.close()

    def blocks(self) -> Iterator[np.ndarray]:
        # Resample in the file's own layout and mix channels ourselves: FFmpeg's stereo→mono
        # matrix adds +3 dB, but dialogue levels must not change with the channel count.
        ctx = self.stream.codec_context
        layout = ctx.layout.name if ctx.layout else _layout_name(self.channels)
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=self.rate)
        if self.start > 1.0:
            try:
                self.container.seek(int(max(0.0, self.start - 0.5) * av.time_base), any_frame=False)
            except av.FFmpegError:
                self.container.seek(0)
        position: int | None = None  # samples at self.rate since time 0
        first = int(round(self.start * self.rate))
        last = None if self.end is None else int(round(self.end * self.rate))

        def trim(chunk: np.ndarray) -> np.ndarray | None:
            nonlocal position
            assert position is not None
            a, b = position, position + chunk.shape[1]
            position = b
            lo, hi = max(a, first), b if last is None else min(b, last)
            return chunk[:, lo - a : hi - a] if hi > lo else None

        produced = False
        try:
            for frame in self.container.decode(self.stream):
                if position is None:
                    position = int(round((float(frame.time) if frame.time is not None else 0.0) * self.rate))
                for out in resampler.resample(frame):
                    kept = trim(out.to_ndarray().reshape(self.channels, -1))
                    if kept is not None and kept.shape[1]:
                        produced = True
                        yield kept
                if last is not None and position >= last:
                    break
            else:
                if position is not None:
                    for out in resampler.resample(None):
                        kept = trim(out.to_ndarray().reshape(self.channels, -1))
                        if kept is not None and kept.shape[1]:
                            produced = True
                            yield kept
        except av.FFmpegError as exc:
            if not produced:
                raise MediaError(self.path, f"audio cannot be decoded ({exc})", "re-export it as WAV") from exc
            self.warnings.append(f"{self.path.name}: decoding stopped at {(position or 0) / self.rate:.2f} s ({exc}); "
                                 "the rest is silence")
        self.decoded_until = (position or 0) / self.rate
        wanted = self.header_duration if self.end is None else self.end
        if wanted is not None and not self.warnings and self.decoded_until < wanted - 0.5:
            said = "the file says" if self.end is None else "the shot uses it up to"
            self.warnings.append(f"{self.path.name}: the audio ends at {self.decoded_until:.2f} s but {said} "
                                 f"{wanted:.2f} s (truncated?); the rest is silence")


def _check_length(p: Path, decoder: _Decoder, limit: float | None) -> None:
    if limit is None:
        return
    stop = decoder.end if decoder.end is not None else decoder.header_duration
    if stop is not None and stop - decoder.start > limit + 1.0:  # a second of slack for rounding
        decoder.close()
        raise MediaError(p, f"{stop - decoder.start:.0f} s of audio is more than the {limit:.0f} s one shot may last",
                         "use a shorter range (audio in/out) or raise SOUL_MAX_SHOT_SECONDS")


def load_audio(
    path: str | os.PathLike[str],
    sample_rate: int | None = None,
    channels: int | None = None,
    start: float = 0.0,
    end: float | None = None,
    max_seconds: float | None = -1.0,
) -> AudioClip:
    """Decode ``path`` (from ``start`` to ``end`` seconds) into an :class:`AudioClip`.

    ``sample_rate``/``channels`` convert on the fly (None keeps the file's own). A range
    longer than ``max_seconds`` (default: the longest shot, see :mod:`engine.limits`;
    None for no bound) is refused before anything is decoded.
    """
    p = Path(path)
    decoder = _Decoder(p, sample_rate, start, end)
    _check_length(p, decoder, max_shot_seconds() if max_seconds == -1.0 else max_seconds)
    chunks: list[np.ndarray] = []
    try:
        chunks = list(decoder.blocks())
    finally:
        decoder.close()
    src_channels = decoder.channels
    samples = np.concatenate(chunks, axis=1) if len(chunks) > 1 else (
        chunks[0] if chunks else np.zeros((src_channels, 0), np.float32))
    del chunks
    if samples.shape[1] == 0:
        raise MediaError(p, "audio stream holds no samples", "record or export the line again")
    clip = AudioClip(samples.astype(np.float32, copy=False), decoder.rate).as_channels(int(channels or src_channels))
    clip.warnings = list(decoder.warnings)
    return clip


def iter_audio_blocks(
    path: str | os.PathLike[str],
    sample_rate: int | None = None,
    channels: int | None = None,
    start: float = 0.0,
    end: float | None = None,
    block_seconds: float = 10.0,
    warnings: list[str] | None = None,
) -> Iterator[AudioClip]:
    """Decode ``[start, end)`` as consecutive clips of ``block_seconds`` (the last may be shorter).

    Memory stays at a few blocks whatever the file's length; problems found on the way
    (a decode that ends early) are appended to ``warnings``.
    """
    p = Path(path)
    decoder = _Decoder(p, sample_rate, start, end)
    size = max(1, int(round(block_seconds * decoder.rate)))
    out_channels = int(channels or decoder.channels)
    pending: list[np.ndarray] = []
    held = 0
    try:
        for chunk in decoder.blocks():
            pending.append(chunk)
            held += chunk.shape[1]
            while held >= size:
                joined = np.concatenate(pending, axis=1)
                yield AudioClip(joined[:, :size], decoder.rate).as_channels(out_channels)
                pending, held = [joined[:, size:]], joined.shape[1] - size
        if held:
            yield AudioClip(np.concatenate(pending, axis=1), decoder.rate).as_channels(out_channels)
    finally:
        decoder.close()
        if warnings is not None:
            warnings.extend(decoder.warnings)


class SequentialAudio:
    """Audio the movie writer reads ``block`` by ``block``, in order, at a format fixed up front.

    Looks like an :class:`AudioClip` to :class:`~engine.media.video.VideoWriter`
    (``channels``, ``sample_rate``, ``num_samples``, ``block``, ``fit_duration``); it is
    never resampled or remixed, since nothing of it is held to convert.
    """

    sample_rate: int
    channels: int
    num_samples: int

    @property
    def duration(self) -> float:
        return self.num_samples / float(self.sample_rate)

    def resample(self, rate: int) -> SequentialAudio:
        if rate != self.sample_rate:
            raise ValueError(f"{type(self).__name__} is produced at {self.sample_rate} Hz, the rate it is written at")
        return self

    def as_channels(self, channels: int) -> SequentialAudio:
        if channels != self.channels:
            raise ValueError(f"{type(self).__name__} is produced with {self.channels} channel(s), as it is written")
        return self

    def fit_duration(self, duration: float) -> SequentialAudio:
        self.num_samples = int(round(duration * self.sample_rate))
        return self

    def block(self, start: int, count: int) -> np.ndarray:
        """Samples ``start`` .. ``start + count`` (channels × count float32); ``start`` only moves forward."""
        raise NotImplementedError


class StreamedAudio(SequentialAudio):
    """A clip decoded as it is read: the movie writer takes ``block``s in order.

    Keeps the level statistics of what was read, for the take's sidecar.
    """

    def __init__(self, path: str | os.PathLike[str], sample_rate: int, channels: int | None, start: float,
                 end: float | None, duration: float, lead: float = 0.0) -> None:
        self.path = Path(path)
        self.sample_rate = int(sample_rate)
        self.start, self.end = start, end
        probe = _Decoder(self.path, self.sample_rate, start, end)
        self._channels_in = probe.channels
        probe.close()
        self.channels = min(2, int(channels or self._channels_in))
        self.num_samples = int(round(duration * self.sample_rate))
        self.warnings: list[str] = []
        self._blocks: Iterator[AudioClip] | None = None
        # ``lead`` seconds of silence come first: the shot's pause before the line.
        self._buffer = np.zeros((self.channels, int(round(max(0.0, lead) * self.sample_rate))), np.float32)
        self._position = 0
        self._sumsq = 0.0
        self._counted = 0

    def block(self, start: int, count: int) -> np.ndarray:
        if start != self._position:
            raise ValueError("a streamed clip is read in order")
        if self._blocks is None:
            self._blocks = iter_audio_blocks(self.path, self.sample_rate, self.channels, self.start, self.end,
                                             block_seconds=2.0, warnings=self.warnings)
        while self._buffer.shape[1] < count:
            nxt = next(self._blocks, None)
            if nxt is None:
                pad = np.zeros((self.channels, count - self._buffer.shape[1]), np.float32)
                self._buffer = np.concatenate([self._buffer, pad], axis=1)
                break
            self._buffer = np.concatenate([self._buffer, nxt.samples], axis=1)
        out, self._buffer = self._buffer[:, :count], self._buffer[:, count:]
        self._position += count
        self._sumsq += float(np.square(out, dtype=np.float64).sum())
        self._counted += out.size
        return np.ascontiguousarray(out)

    def is_silent(self, threshold_dbfs: float = SILENCE_DBFS) -> bool:
        """From the samples read so far (all of them once the movie is written)."""
        if not self._counted:
            return True
        rms = (self._sumsq / self._counted) ** 0.5
        return rms <= 0 or 20.0 * np.log10(rms) < threshold_dbfs


def resample(samples: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Resample planar float32 ``samples`` with FFmpeg's resampler (swr)."""
    samples = np.ascontiguousarray(np.atleast_2d(samples), dtype=np.float32)
    channels = samples.shape[0]
    layout = _layout_name(channels)
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=dst_rate)
    out: list[np.ndarray] = []
    block = max(1024, src_rate)  # one second at a time keeps memory flat
    for i in range(0, samples.shape[1], block):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, i : i + block]), format="fltp", layout=layout)
        frame.sample_rate = src_rate
        frame.pts = i
        frame.time_base = Fraction(1, src_rate)
        out.extend(f.to_ndarray().reshape(channels, -1) for f in resampler.resample(frame))
    out.extend(f.to_ndarray().reshape(channels, -1) for f in resampler.resample(None))
    result = np.concatenate(out, axis=1) if out else np.zeros((channels, 0), np.float32)
    expected = int(round(samples.shape[1] * dst_rate / src_rate))
    if result.shape[1] > expected:
        result = result[:, :expected]
    elif result.shape[1] < expected:
        result = np.pad(result, ((0, 0), (0, expected - result.shape[1])))
    return result.astype(np.float32, copy=False)


def write_audio(path: str | os.PathLike[str], clip: AudioClip, codec: str | None = None) -> None:
    """Write ``clip`` to a file; the codec follows the suffix (WAV is PCM s16le by default)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if codec is None:
        codec = {".wav": "pcm_s16le", ".flac": "flac", ".m4a": "aac", ".mp3": "libmp3lame", ".ogg": "libopus", ".opus": "libopus"}.get(
            suffix, "pcm_s16le"
        )
    fmt = {".m4a": "mp4", ".ogg": "ogg", ".opus": "ogg"}.get(suffix)
    layout = _layout_name(clip.channels)
    with av.open(str(p), mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=clip.sample_rate, layout=layout)
        encode_audio_into(container, stream, clip)


def encode_audio_into(container: av.container.OutputContainer, stream: av.audio.AudioStream, clip: AudioClip) -> None:
    """Encode all of ``clip`` into ``stream`` and flush it."""
    layout = _layout_name(clip.channels)
    block = 4096
    for i in range(0, clip.num_samples, block):
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(clip.samples[:, i : i + block]), format="fltp", layout=layout
        )
        frame.sample_rate = clip.sample_rate
        frame.pts = i
        frame.time_base = Fraction(1, clip.sample_rate)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)
