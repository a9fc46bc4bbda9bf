"""Audio in and out through PyAV: any common format, any rate, resampled as needed.

Samples are float32, planar ``(channels, samples)`` in [-1, 1]. The model wants 16 kHz
mono, delivery wants 48 kHz; both come from :func:`load_audio` with a target rate.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

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


def load_audio(
    path: str | os.PathLike[str],
    sample_rate: int | None = None,
    channels: int | None = None,
    start: float = 0.0,
    end: float | None = None,
) -> AudioClip:
    """Decode ``path`` (from ``start`` to ``end`` seconds) into an :class:`AudioClip`.

    ``sample_rate``/``channels`` convert on the fly (None keeps the file's own).
    """
    p = Path(path)
    chunks: list[np.ndarray] = []
    with _open(p) as container:
        stream = container.streams.audio[0]
        src_rate = int(stream.codec_context.sample_rate or 0)
        src_channels = int(stream.codec_context.channels or 1)
        rate = int(sample_rate or src_rate)
        out_channels = int(channels or src_channels)
        if rate <= 0:
            raise MediaError(p, "audio stream has no sample rate")
        # Resample in the file's own layout and mix channels ourselves: FFmpeg's stereo→mono
        # matrix adds +3 dB, but dialogue levels must not change with the channel count.
        src_layout = stream.codec_context.layout.name if stream.codec_context.layout else _layout_name(src_channels)
        resampler = av.AudioResampler(format="fltp", layout=src_layout, rate=rate)
        if start > 1.0:
            try:
                container.seek(int(max(0.0, start - 0.5) * av.time_base), any_frame=False)
            except av.FFmpegError:
                container.seek(0)
        first_time: float | None = None
        total = 0
        try:
            for frame in container.decode(stream):
                if first_time is None:
                    first_time = float(frame.time) if frame.time is not None else 0.0
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(src_channels, -1))
                    total += out.samples
                if end is not None and first_time + total / rate > end + 0.1:
                    break
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(src_channels, -1))
        except av.FFmpegError as exc:
            if not chunks:
                raise MediaError(p, f"audio cannot be decoded ({exc})", "re-export it as WAV") from exc
    samples = np.concatenate(chunks, axis=1) if chunks else np.zeros((src_channels, 0), np.float32)
    if samples.shape[1] == 0:
        raise MediaError(p, "audio stream holds no samples", "record or export the line again")
    offset = first_time or 0.0
    clip = AudioClip(samples.astype(np.float32, copy=False), rate).as_channels(out_channels)
    return clip.slice(max(0.0, start - offset), None if end is None else end - offset)


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
