"""Video encode and decode through PyAV.

:class:`VideoWriter` streams RGB frames to H.264/MP4 or ProRes/MOV, interleaving the
shot's audio as frames arrive, stamps a start timecode, and appears at its final path
only when closed cleanly (temp file in the same folder, fsync, rename). A crash or a
cancel leaves no half-written take behind.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from av.video.reformatter import ColorRange, Colorspace, Interpolation

from engine.atomic import fsync_dir, temp_beside
from engine.media.audio import DELIVERY_RATE, AudioClip, SequentialAudio, _layout_name
from engine.media.errors import MediaError
from engine.timebase import fps_fraction, is_drop_frame


@dataclass(frozen=True)
class VideoCodec:
    """An encoding preset: container, video codec/pixel format/options, audio codec."""

    name: str
    container: str
    suffix: str
    codec: str
    pix_fmt: str
    options: dict[str, str] = field(default_factory=dict)
    audio_codec: str = "aac"
    profile: str | None = None
    alpha: bool = False
    audio_options: dict[str, str] = field(default_factory=dict)
    vendor: str | None = None  # four-character vendor stamped into the QuickTime sample description

    @property
    def intra(self) -> bool:
        """Every frame a keyframe (ProRes, DNxHR): chunks may split anywhere, threads cost nothing."""
        return self.codec in ("prores_aw", "prores_ks", "dnxhd")


# x264's light motion search (final takes, delivery, shot clips); delivery and shot clips also
# turn off adaptive quantisation, weighted prediction and mixed references (see "h264_delivery").
_X264_LIGHT = "rc-lookahead=5:ref=1:me=dia:subme=1:trellis=0:partitions=i8x8,i4x4"
_X264_DELIVERY = _X264_LIGHT + ":aq-mode=0:weightp=0:mixed-refs=0"

# ProRes goes through FFmpeg's prores_aw encoder: the same Apple profiles as prores_ks at
# about a quarter of the CPU time, which keeps a 1080p conform close to real time.
CODECS: dict[str, VideoCodec] = {
    "h264": VideoCodec(
        "h264", "mp4", ".mp4", "libx264", "yuv420p",
        {"crf": "18", "preset": "veryfast", "profile": "high"}, "aac", "high",
    ),
    # Delivery MP4: High profile at the same CRF with a lighter motion search and no adaptive
    # quantisation or weighted prediction (dialogue shots with hard cuts gain little from
    # them): about 40 % less CPU than "h264" at 43+ dB PSNR, so a conform on two cores stays
    # several times faster than real time. One x264 thread per encoder: the export runs one
    # encoder per core (see ChunkEncoder), which costs 10–25 % less CPU than frame threads.
    # AAC "fast" coder: a quarter to half of the default coder's CPU, transparent at 192 kb/s.
    "h264_delivery": VideoCodec(
        "h264_delivery", "mp4", ".mp4", "libx264", "yuv420p",
        {"crf": "18", "preset": "veryfast", "profile": "high", "threads": "1",
         "x264-params": _X264_DELIVERY}, "aac", "high",
        audio_options={"aac_coder": "fast"},
    ),
    # Final takes: intermediates that the export conforms again, so a lower CRF with the same
    # light motion search as delivery keeps them clean and a CPU render faster than real time.
    "h264_take": VideoCodec(
        "h264_take", "mp4", ".mp4", "libx264", "yuv420p",
        {"crf": "16", "preset": "veryfast", "profile": "high",
         "x264-params": _X264_LIGHT}, "aac", "high",
    ),
    "h264_draft": VideoCodec(
        "h264_draft", "mp4", ".mp4", "libx264", "yuv420p",
        {"crf": "23", "preset": "ultrafast", "tune": "zerolatency"}, "aac",
    ),
    # Per-shot H.264 clips go into QuickTime rather than MP4: only a QuickTime timecode
    # track carries a reel name, which is what an editor relinks a conformed cut by.
    "h264_clip": VideoCodec(
        "h264_clip", "mov", ".mov", "libx264", "yuv420p",
        {"crf": "18", "preset": "veryfast", "profile": "high", "threads": "1",
         "x264-params": _X264_DELIVERY}, "aac", "high",
        audio_options={"aac_coder": "fast"},
    ),
    # ProRes: Final Cut and Resolve look for Apple's vendor code in the sample description.
    "prores422hq": VideoCodec(
        "prores422hq", "mov", ".mov", "prores_aw", "yuv422p10le",
        {"profile": "3", "vendor": "apl0"}, "pcm_s24le", vendor="apl0",
    ),
    "prores422lt": VideoCodec(
        "prores422lt", "mov", ".mov", "prores_aw", "yuv422p10le",
        {"profile": "1", "vendor": "apl0"}, "pcm_s24le", vendor="apl0",
    ),
    "prores4444": VideoCodec(
        "prores4444", "mov", ".mov", "prores_aw", "yuva444p10le",
        {"profile": "4", "vendor": "apl0"}, "pcm_s24le", alpha=True, vendor="apl0",
    ),
    # Avid DNxHR: HQX (10-bit 4:2:2 finishing) and LB (8-bit offline proxies), in QuickTime
    # or MXF OP1a, with 24-bit PCM.
    "dnxhr_hqx": VideoCodec("dnxhr_hqx", "mov", ".mov", "dnxhd", "yuv422p10le", {"profile": "dnxhr_hqx"}, "pcm_s24le"),
    "dnxhr_lb": VideoCodec("dnxhr_lb", "mov", ".mov", "dnxhd", "yuv422p", {"profile": "dnxhr_lb"}, "pcm_s24le"),
    "dnxhr_hqx_mxf": VideoCodec("dnxhr_hqx_mxf", "mxf", ".mxf", "dnxhd", "yuv422p10le", {"profile": "dnxhr_hqx"},
                                "pcm_s24le"),
    "dnxhr_lb_mxf": VideoCodec("dnxhr_lb_mxf", "mxf", ".mxf", "dnxhd", "yuv422p", {"profile": "dnxhr_lb"},
                               "pcm_s24le"),
}


_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}


def stamp_vendor(path: Path, vendor: str) -> bool:
    """Write ``vendor`` into the video sample description of a QuickTime file, in place.

    FFmpeg's muxer always writes ``FFMP`` there; the field is fixed-size, so the file is
    otherwise untouched. Returns whether a video sample description was found.
    """
    code = vendor.encode("ascii")
    if len(code) != 4:
        raise ValueError(f"vendor code {vendor!r} must be four characters")
    with open(path, "r+b") as handle:
        size = os.fstat(handle.fileno()).st_size

        def walk(start: int, end: int) -> bool:
            at = start
            while at + 8 <= end:
                handle.seek(at)
                head = handle.read(16)
                length, kind = int.from_bytes(head[:4], "big"), head[4:8]
                header = 8
                if length == 1:
                    length, header = int.from_bytes(head[8:16], "big"), 16
                elif length == 0:
                    length = end - at
                if length < header:
                    return False
                if kind in _CONTAINERS and walk(at + header, at + length):
                    return True
                if kind == b"stsd" and _stamp_entries(handle, at + header, at + length, code):
                    return True
                at += length
            return False

        return walk(0, size)


def _stamp_entries(handle: Any, start: int, end: int, code: bytes) -> bool:
    handle.seek(start + 4)  # version and flags
    count = int.from_bytes(handle.read(4), "big")
    at = start + 8
    for _ in range(count):
        handle.seek(at)
        length = int.from_bytes(handle.read(4), "big")
        handle.seek(at + 20)  # size, format, 6 reserved, data reference, version, revision
        if handle.read(4) == b"FFMP":
            handle.seek(at + 20)
            handle.write(code)
            return True
        at += max(length, 8)
        if at >= end:
            break
    return False


# Every movie is BT.709 (primaries, transfer, matrix), limited range, and says so in the
# bitstream (H.264 VUI, ProRes frame header) and the container (MOV/MP4 ``colr``). An
# untagged HD file is read as BT.709 by NLEs, so the matrix must be BT.709 too.
BT709 = 1  # ITU-T H.273 code for BT.709 primaries, transfer and matrix
UNSPECIFIED = 2
# Exact rounding, the same on every CPU: swscale's default fast path rounds and dithers
# enough to add frame-to-frame noise to fine detail (a mouth's edge), about 1.3 ms a 1080p
# frame cheaper.
EXACT = Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.BITEXACT


def tag_bt709(frame: av.VideoFrame) -> av.VideoFrame:
    """Mark a Y'CbCr frame as BT.709 limited range (encoders copy these into their headers)."""
    frame.colorspace = BT709
    frame.color_range = ColorRange.MPEG
    frame.color_primaries = BT709
    frame.color_trc = BT709
    return frame


def as_bt709(frame: av.VideoFrame) -> av.VideoFrame:
    """A decoded frame in BT.709 Y'CbCr: tagged ones pass as they are, untagged ones (takes
    written before movies were tagged, with the BT.601 matrix) are converted."""
    if frame.colorspace == BT709 or frame.format.name.startswith(("rgb", "bgr", "gbr")):
        return tag_bt709(frame) if frame.colorspace == BT709 else frame
    rgb = frame.reformat(format="rgb24", src_colorspace=Colorspace.ITU601, interpolation=EXACT)
    out = rgb.reformat(format=frame.format.name, dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG,
                       interpolation=EXACT)
    out.pts = frame.pts
    if frame.time_base is not None:
        out.time_base = frame.time_base
    return tag_bt709(out)


def _tag_context(cc: av.codec.context.CodecContext) -> None:
    cc.color_primaries = BT709
    cc.color_trc = BT709
    cc.colorspace = BT709
    cc.color_range = ColorRange.MPEG


def _array_frame(frame: np.ndarray, preset: VideoCodec, width: int, height: int) -> av.VideoFrame:
    """An RGB/RGBA array as a BT.709 frame in the pixel format the encoder of ``preset`` takes.

    swscale does the conversion (one thread: the exporter already runs an encoder per
    core); OpenCV's faster RGB→I420 only knows the BT.601 matrix.
    """
    arr = np.asarray(frame)
    if arr.shape[0] != height or arr.shape[1] != width:
        raise ValueError(f"frame is {arr.shape[1]}x{arr.shape[0]}, writer expects {width}x{height}")
    if arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    fmt = "rgb24"
    if arr.ndim == 3 and arr.shape[2] == 4:
        fmt = "rgba"
        if not preset.alpha:
            arr, fmt = arr[:, :, :3], "rgb24"
    source = av.VideoFrame.from_ndarray(np.ascontiguousarray(arr), format=fmt)
    return rgb_to_bt709(source, preset.pix_fmt)


def rgb_to_bt709(frame: av.VideoFrame, pix_fmt: str) -> av.VideoFrame:
    """An RGB(A) frame as BT.709 limited-range Y'CbCr in ``pix_fmt``, tagged."""
    out = frame.reformat(format=pix_fmt, dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG,
                         threads=1, interpolation=EXACT)
    return tag_bt709(out)


class ChunkEncoder:
    """Encodes a run of frames exactly as a :class:`VideoWriter`'s own stream would.

    Same codec, size, rate and options, so the parameter sets match and the packets splice
    into the writer's stream; each chunk starts on a keyframe. One thread encodes while
    :meth:`VideoWriter.write_chunk` takes the packets on another. Packets not yet taken are
    capped at ``max_buffered`` bytes (the encoder waits): a chunk encoded ahead of its turn
    holds a little compressed video, never a whole ProRes shot.
    """

    BATCH = 24

    def __init__(self, writer: VideoWriter, max_buffered: int = 64 << 20, threads: int = 1) -> None:
        preset = writer.preset
        self._preset, self._width, self._height = preset, writer.width, writer.height
        cc = av.CodecContext.create(preset.codec, "w")
        if threads > 1 and preset.intra:
            # Intra-only codecs thread over frames with no loss: the chunk encoded last,
            # alone, still fills every core.
            cc.thread_type = "FRAME"
            cc.thread_count = threads
        cc.width, cc.height, cc.pix_fmt = writer.width, writer.height, preset.pix_fmt
        cc.time_base = Fraction(1) / writer.rate
        cc.framerate = writer.rate
        global_header = av.codec.context.Flags.global_header
        if writer._video.codec_context.flags & global_header:  # headers in the container, as the writer's
            cc.flags |= global_header
        cc.options = dict(preset.options)
        _tag_context(cc)
        self._cc = cc
        self._time_base = Fraction(1) / writer.rate
        self._max_buffered = max_buffered
        self._ready = threading.Condition()
        self._packets: list[av.Packet] = []
        self._buffered = 0
        self._finished = False
        self._failed = False
        self.frames = 0

    @property
    def extradata(self) -> bytes:
        return bytes(self._cc.extradata or b"")

    def encode(self, frame: np.ndarray | av.VideoFrame) -> None:
        """Append one frame (RGB/RGBA array or a frame of the writer's size)."""
        if isinstance(frame, av.VideoFrame):
            if frame.width != self._width or frame.height != self._height:
                raise ValueError(f"frame is {frame.width}x{frame.height}, writer expects {self._width}x{self._height}")
            vf = as_bt709(frame)
        else:
            vf = _array_frame(frame, self._preset, self._width, self._height)
        vf.pict_type = av.video.frame.PictureType.NONE
        vf.pts = self.frames
        vf.time_base = self._time_base
        self._hand_over(self._cc.encode(vf))
        self.frames += 1

    def finish(self) -> None:
        """Flush the encoder; the chunk is then complete."""
        self._hand_over(self._cc.encode(None), finished=True)

    def fail(self) -> None:
        """Give up on the chunk: the writer waiting for it stops with an error."""
        with self._ready:
            self._failed = True
            self._ready.notify_all()

    def _hand_over(self, packets: list[av.Packet], finished: bool = False) -> None:
        with self._ready:
            self._packets.extend(packets)
            self._buffered += sum(p.size for p in packets)
            self._finished = finished
            if finished or len(self._packets) >= self.BATCH or self._buffered > self._max_buffered:
                self._ready.notify_all()
            while self._buffered > self._max_buffered and not self._failed:
                self._ready.wait()

    def take(self, timeout: float) -> tuple[list[av.Packet], bool]:
        """Packets encoded so far and whether that is all.

        Waits up to ``timeout`` for :attr:`BATCH` packets: handing them over a batch at a time
        rather than frame by frame spares the threads a wake-up per frame.
        """
        with self._ready:
            self._ready.wait_for(lambda: len(self._packets) >= self.BATCH or self._finished or self._failed
                                 or self._buffered > self._max_buffered, timeout)
            if self._failed:
                raise RuntimeError("the chunk's encoder stopped")
            packets, self._packets, self._buffered = self._packets, [], 0
            self._ready.notify_all()
            return packets, self._finished and not self._packets


class VideoWriter:
    """Stream frames (H×W×3 RGB or H×W×4 RGBA uint8) into a movie written atomically.

    Use as a context manager; an exception inside the block discards the partial file.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: float,
        width: int,
        height: int,
        codec: str = "h264",
        audio: AudioClip | SequentialAudio | None = None,
        start_timecode: str | None = "01:00:00:00",
        overwrite: bool = False,
        metadata: dict[str, str] | None = None,
        reel: str | None = None,
        drop_frame: bool | None = None,
    ) -> None:
        if codec not in CODECS:
            raise ValueError(f"unknown codec {codec!r}; choose one of {', '.join(CODECS)}")
        self.preset = CODECS[codec]
        self.path = Path(path)
        self.fps = fps
        self.rate = fps_fraction(fps)
        # 29.97 is drop-frame unless non-drop is asked for; other rates never are.
        self.drop_frame = is_drop_frame(fps) and drop_frame is not False
        self.width, self.height = int(width), int(height)
        if self.width % 2 or self.height % 2:
            raise ValueError(f"frame size {width}x{height} must be even")
        if self.path.exists() and not overwrite:
            raise MediaError(self.path, "file already exists", "choose another name or allow overwrite")
        if not self.path.parent.is_dir():
            raise MediaError(self.path.parent, "output folder does not exist")
        self._tmp = temp_beside(self.path)
        self.frames_written = 0
        self._mode: str | None = None  # "frames" or "chunks": one movie is written one way
        self._audio_samples_written = 0
        self._closed = False
        self._audio: AudioClip | SequentialAudio | None = None
        try:
            self._container = av.open(str(self._tmp), mode="w", format=self.preset.container)
            self._setup_streams(audio, start_timecode, metadata or {}, reel)
        except Exception:
            self._discard()
            raise

    # ---------------------------------------------------------------- set up
    def _setup_streams(self, audio: AudioClip | SequentialAudio | None, timecode: str | None, metadata: dict[str, str], reel: str | None) -> None:
        preset = self.preset
        c = self._container
        if preset.container == "mp4":
            c.options["movflags"] = "+faststart"
        if timecode:
            if self.drop_frame and timecode.count(":") == 3:
                timecode = timecode[:8] + ";" + timecode[9:]
            elif not self.drop_frame:
                timecode = timecode.replace(";", ":")
            c.metadata["timecode"] = timecode
        for key, value in metadata.items():
            c.metadata[key] = value
        v = c.add_stream(preset.codec, rate=self.rate)
        v.width, v.height = self.width, self.height
        v.pix_fmt = preset.pix_fmt
        self._frame_time_base = Fraction(1) / self.rate
        v.options = dict(preset.options)
        _tag_context(v.codec_context)
        if timecode:
            v.metadata["timecode"] = timecode
        if reel:
            v.metadata["reel_name"] = reel  # QuickTime: the timecode track's source reference
            if preset.container == "mxf":
                c.metadata["reel_name"] = reel  # MXF: a physical (tape) source package of that name
        self._video = v
        self._audio_stream = None
        if audio is not None:
            clip = audio.resample(DELIVERY_RATE).as_channels(min(2, audio.channels))
            self._audio = clip
            a = c.add_stream(preset.audio_codec, rate=DELIVERY_RATE, layout=_layout_name(clip.channels))
            if preset.audio_codec == "aac":
                a.bit_rate = 192_000
            if preset.audio_options:
                a.options = dict(preset.audio_options)
            self._audio_stream = a

    # ----------------------------------------------------------------- write
    def prepare(self, frame: np.ndarray) -> av.VideoFrame:
        """``frame`` converted to the encoder's pixel format, ready for :meth:`write`.

        Pure and thread-safe: a renderer can convert on its own thread while this one
        encodes, so the colour conversion and the encoder share the cores.
        """
        return _array_frame(frame, self.preset, self.width, self.height)

    def write(self, frame: np.ndarray | av.VideoFrame) -> None:
        """Append one frame; audio up to this frame's end is interleaved after it.

        An ``av.VideoFrame`` of the writer's size (any pixel format) is encoded as it is,
        which spares a decoded take the round trip through RGB.
        """
        if self._closed:
            raise RuntimeError("writer is closed")
        if isinstance(frame, av.VideoFrame):
            if frame.width != self.width or frame.height != self.height:
                raise ValueError(f"frame is {frame.width}x{frame.height}, writer expects {self.width}x{self.height}")
            frame = as_bt709(frame)
            frame.pict_type = av.video.frame.PictureType.NONE
            self._encode(frame)
            return
        self._encode(_array_frame(frame, self.preset, self.width, self.height))

    def chunk_encoder(self, threads: int = 1) -> ChunkEncoder:
        """A separate encoder for a run of frames that :meth:`write_chunk` splices in later.

        Chunks encode on other threads at the same time, one encoder per core, which is how
        a conform uses every core without the overhead of frame-threaded encoding; intra-only
        codecs (ProRes, DNxHR) may also take ``threads`` frame threads each.
        """
        return ChunkEncoder(self, threads=threads)

    def write_chunk(self, chunk: ChunkEncoder, wait: Callable[[], None] | None = None) -> None:
        """Splice ``chunk`` in after the frames written so far, as its packets arrive.

        Returns when the chunk is finished. ``wait`` is called at least every 0.1 s until
        then (progress, cancel); the chunk's own audio is interleaved packet by packet.
        """
        if self._closed:
            raise RuntimeError("writer is closed")
        self._claim("chunks")
        self._container.start_encoding()  # opens the stream's encoder: its headers are the reference
        base = self.frames_written
        checked = False
        while True:
            packets, finished = chunk.take(timeout=0.1)
            if packets and not checked:
                if chunk.extradata != bytes(self._video.codec_context.extradata or b""):
                    raise MediaError(self.path, "encoded chunk does not match the movie's stream parameters")
                checked = True
            for packet in packets:
                self._splice(packet, base)
            if finished:
                break
            if wait is not None:
                wait()
        self.frames_written = base + chunk.frames
        self._push_audio(self.frames_written)

    def _splice(self, packet: av.Packet, base: int) -> None:
        decoded_by = base + int(packet.dts) + 1  # frames shown once this packet is decoded
        packet.pts += base
        packet.dts += base
        packet.stream = self._video
        try:
            self._container.mux(packet)
        except OSError as exc:
            raise MediaError(self.path, f"cannot write video ({exc.strerror or exc})", "free disk space and render again") from exc
        self._push_audio(max(base, decoded_by))  # keep the sound interleaved with the picture

    def _claim(self, mode: str) -> None:
        """Refuse to mix write() and write_chunk(): the writer's own encoder may still hold
        reordered frames (B-frames) that a spliced chunk would overtake."""
        if self._mode is None:
            self._mode = mode
        elif self._mode != mode:
            raise RuntimeError("a movie is written either frame by frame or in chunks, not both")

    def _encode(self, vf: av.VideoFrame) -> None:
        self._claim("frames")
        vf.pts = self.frames_written
        vf.time_base = self._frame_time_base
        try:
            for packet in self._video.encode(vf):
                self._container.mux(packet)
        except OSError as exc:
            raise MediaError(self.path, f"cannot write video ({exc.strerror or exc})", "free disk space and render again") from exc
        self.frames_written += 1
        self._push_audio(self.frames_written)

    def _push_audio(self, frames: int | None) -> None:
        if self._audio is None or self._audio_stream is None:
            return
        clip = self._audio
        if frames is None:
            target = clip.num_samples
        else:
            target = min(clip.num_samples, int(round(frames / self.rate * DELIVERY_RATE)))
        layout = _layout_name(clip.channels)
        while self._audio_samples_written < target:
            n = min(4096, target - self._audio_samples_written)
            i = self._audio_samples_written
            af = av.AudioFrame.from_ndarray(clip.block(i, n), format="fltp", layout=layout)
            af.sample_rate = DELIVERY_RATE
            af.pts = i
            af.time_base = Fraction(1, DELIVERY_RATE)
            for packet in self._audio_stream.encode(af):
                self._container.mux(packet)
            self._audio_samples_written += n

    # ----------------------------------------------------------------- close
    def close(self) -> Path:
        """Flush, fsync and move the finished file into place; returns its path."""
        if self._closed:
            return self.path
        try:
            if self._audio is not None:
                # Audio exactly as long as the picture: pad or trim to the frame count.
                duration = float(self.frames_written / self.rate)
                self._audio = self._audio.fit_duration(duration)
                self._push_audio(None)
                for packet in self._audio_stream.encode(None):
                    self._container.mux(packet)
            for packet in self._video.encode(None):
                self._container.mux(packet)
            self._container.close()
            if self.preset.vendor and self.preset.container == "mov":
                stamp_vendor(self._tmp, self.preset.vendor)
            with open(self._tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            if self.path.exists():
                os.replace(self._tmp, self.path)
            else:
                os.replace(self._tmp, self.path)
            fsync_dir(self.path.parent)
        except OSError as exc:
            self._discard()
            raise MediaError(self.path, f"cannot finish writing ({exc.strerror or exc})", "free disk space and render again") from exc
        except Exception:
            self._discard()
            raise
        self._closed = True
        return self.path

    def abort(self) -> None:
        """Drop the partial file; the final path is never touched."""
        self._discard()

    def _discard(self) -> None:
        self._closed = True
        try:
            self._container.close()
        except Exception:  # noqa: BLE001 - closing a broken container may fail
            pass
        try:
            self._tmp.unlink(missing_ok=True)
        except OSError:
            pass

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


@dataclass
class VideoInfo:
    """What a decoded movie holds, as the tests and the exporter check it."""

    path: str
    codec: str
    pix_fmt: str
    profile: str | None
    width: int
    height: int
    fps: Fraction
    frame_count: int
    duration: float
    timecode: str | None
    audio_codec: str | None = None
    audio_rate: int | None = None
    audio_channels: int | None = None
    audio_duration: float | None = None
    metadata: dict[str, str] = field(default_factory=dict)


def probe_video(path: str | os.PathLike[str], count_frames: bool = True) -> VideoInfo:
    """Read codec, format, rate, frame count (decoded when ``count_frames``) and timecode."""
    p = Path(path)
    if not p.is_file():
        raise MediaError(p, "video file not found")
    try:
        container = av.open(str(p))
    except (av.FFmpegError, OSError) as exc:
        raise MediaError(p, f"not a readable video ({exc})") from exc
    with container:
        if not container.streams.video:
            raise MediaError(p, "file has no video stream")
        v = container.streams.video[0]
        cc = v.codec_context
        timecode = v.metadata.get("timecode") or container.metadata.get("timecode")
        for s in container.streams:
            timecode = timecode or s.metadata.get("timecode")
        fps = Fraction(v.average_rate) if v.average_rate else Fraction(v.guessed_rate or 0)
        a = container.streams.audio[0] if container.streams.audio else None
        info = VideoInfo(
            path=str(p), codec=cc.name, pix_fmt=cc.pix_fmt or "", profile=cc.profile,
            width=cc.width, height=cc.height, fps=fps, frame_count=v.frames, duration=0.0,
            timecode=timecode, metadata=dict(container.metadata),
        )
        if a is not None:
            info.audio_codec = a.codec_context.name
            info.audio_rate = a.codec_context.sample_rate
            info.audio_channels = a.codec_context.channels
            if a.duration is not None:
                info.audio_duration = float(a.duration * a.time_base)
        if count_frames or not info.frame_count:
            n = 0
            for _ in container.decode(v):
                n += 1
            info.frame_count = n
        if v.duration is not None and v.time_base is not None:
            info.duration = float(v.duration * v.time_base)
        if fps:
            info.duration = float(info.frame_count / fps)
    return info


def iter_frames(path: str | os.PathLike[str], start: int = 0, count: int | None = None) -> Iterator[np.ndarray]:
    """Yield RGB frames of ``path`` from frame ``start`` on (``count`` at most)."""
    p = Path(path)
    try:
        container = av.open(str(p))
    except (av.FFmpegError, OSError) as exc:
        raise MediaError(p, f"not a readable video ({exc})") from exc
    with container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        emitted = 0
        for i, frame in enumerate(container.decode(stream)):
            if i < start:
                continue
            if count is not None and emitted >= count:
                break
            yield frame.to_ndarray(format="rgb24")
            emitted += 1


def read_frames(path: str | os.PathLike[str], start: int = 0, count: int | None = None) -> list[np.ndarray]:
    return list(iter_frames(path, start, count))


def read_frame_at(path: str | os.PathLike[str], index: int) -> np.ndarray | None:
    """One frame by index (seeks to the nearest keyframe first); None past the end."""
    p = Path(path)
    with av.open(str(p)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        tb = stream.time_base
        if rate and tb and index > 0:
            target_pts = int(Fraction(index) / Fraction(rate) / tb)
            container.seek(target_pts, stream=stream, backward=True, any_frame=False)
        last = None
        for frame in container.decode(stream):
            if frame.pts is None or rate is None:
                last = frame
                break
            fi = int(round(float(frame.pts * tb * Fraction(rate))))
            last = frame
            if fi >= index:
                break
        return None if last is None else last.to_ndarray(format="rgb24")
