"""Conformed movies, per-shot clips and image sequences, streamed frame by frame."""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import av
import cv2
import numpy as np

from engine.atomic import fit_name
from engine.media import CODECS, VideoWriter
from engine.media.video import ChunkEncoder, rgb_to_bt709
from soul_studio.export.cut import Cut, Segment, safe_filename
from soul_studio.export.frames import Picture, SegmentPictures, to_rgb
from soul_studio.export.options import ExportOptions
from soul_studio.export.output import Meter
from soul_studio.export.prefetch import Prefetch
from soul_studio.export.soundtrack import build_soundtrack, sample_at, write_bwf
from soul_studio.export.streamed_soundtrack import soundtrack_source
from soul_studio.project.model import Project


class EncoderFeed:
    """Turns RGB arrays into BT.709 frames in the encoder's own pixel format.

    Repeated pictures (black, stills, slates) are converted once; decoded takes pass
    through untouched.
    """

    def __init__(self, pix_fmt: str) -> None:
        self.pix_fmt = pix_fmt
        self._src: np.ndarray | None = None
        self._out: av.VideoFrame | None = None

    def __call__(self, picture: Picture) -> Picture:
        if isinstance(picture, av.VideoFrame) or self.pix_fmt.startswith("yuva"):
            return picture
        if picture is self._src and self._out is not None:
            return self._out
        source = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24")
        frame = rgb_to_bt709(source, self.pix_fmt)
        self._src, self._out = picture, frame
        return frame


# Pictures decoded ahead of the encoder: enough to ride out a take's keyframe or a
# slate being drawn, few enough that 1080p frames in flight stay under ~25 MB.
PREFETCH_FRAMES = 8
# Segments encoded at once, each on its own core with one decoder and one encoder thread.
WORKERS = max(1, min(4, os.cpu_count() or 1))


def _encoder_frames(cut: Cut, pictures: SegmentPictures, feed: EncoderFeed) -> Iterator[Picture]:
    """Every picture of the cut, in order, already in the form the encoder takes."""
    for seg in cut.segments:
        for picture in pictures.segment(seg):
            yield feed(picture)


def write_movie(project: Project, cut: Cut, codec: str, path: Path, options: ExportOptions, meter: Meter,
                warnings: list[str], reel: str | None = None, title: str | None = None) -> int:
    """Encode ``cut`` (picture and dialogue) into ``path``; returns frames written."""
    audio = soundtrack_source(project, cut, options.take_audio, warnings)  # streamed for long cuts
    # One decoder thread per segment: segments are encoded side by side, one per core.
    pictures = SegmentPictures(project, cut, options.missing, options.burn_in, decode_threads=1)
    pix_fmt = CODECS[codec].pix_fmt
    metadata = {"title": title or project.name, "encoder": "Soul Studio"}
    writer = VideoWriter(path, cut.fps, cut.width, cut.height, codec, audio=audio,
                         start_timecode=cut.start_timecode, overwrite=True, metadata=metadata, reel=reel,
                         drop_frame=cut.drop)
    try:
        if WORKERS > 1 and len(cut.segments) > 1:
            _write_segments_parallel(writer, cut, pictures, pix_fmt, meter)
        else:
            with Prefetch(_encoder_frames(cut, pictures, EncoderFeed(pix_fmt)), depth=PREFETCH_FRAMES) as frames:
                for frame in frames:
                    writer.write(frame)
                    meter.step()
        writer.close()
    except BaseException:
        writer.abort()
        raise
    _user_permissions(path)
    return writer.frames_written


class _Stopped(Exception):
    """A segment's encode gave up because the export is ending."""


def _encode_segment(encoder: ChunkEncoder, seg: Segment, pictures: SegmentPictures, pix_fmt: str,
                    stop: threading.Event, progress: list[int]) -> None:
    """Decode and encode one segment as a chunk of its own (runs on a worker thread).

    The decoder runs a few frames ahead on a thread of its own, so the last segment,
    encoded alone, still keeps two cores busy.
    """
    feed = EncoderFeed(pix_fmt)
    try:
        with Prefetch((feed(picture) for picture in pictures.segment(seg)), depth=PREFETCH_FRAMES) as frames:
            for frame in frames:
                if stop.is_set():
                    raise _Stopped()
                encoder.encode(frame)
                progress[0] += 1
        encoder.finish()
    except BaseException:
        encoder.fail()
        raise


def _write_segments_parallel(writer: VideoWriter, cut: Cut, pictures: SegmentPictures, pix_fmt: str,
                             meter: Meter) -> None:
    """Encode segments side by side and splice them into ``writer`` in timeline order.

    Every segment starts on a cut, where the encoder would place a keyframe anyway, so
    encoding each one separately costs next to nothing in size and keeps every core busy
    with single-threaded decoders and encoders, the cheapest way to spend the CPU. The
    segment next in line is written as it encodes; at most ``WORKERS`` more run ahead.
    """
    stop = threading.Event()
    pending: deque[tuple[ChunkEncoder, Future[None], list[int]]] = deque()
    segments = iter(cut.segments)
    muxed = reported = 0

    def report() -> None:  # progress, and cancel, while the encoders run
        nonlocal reported
        done = muxed + sum(progress[0] for _, _, progress in pending)
        meter.step(done - reported)
        reported = done

    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="export-encode") as pool:
        try:
            while True:
                while len(pending) <= WORKERS and (seg := next(segments, None)) is not None:
                    encoder, progress = writer.chunk_encoder(threads=WORKERS), [0]
                    future = pool.submit(_encode_segment, encoder, seg, pictures, pix_fmt, stop, progress)
                    pending.append((encoder, future, progress))
                if not pending:
                    return
                encoder, future, _ = pending[0]
                try:
                    writer.write_chunk(encoder, wait=report)
                except RuntimeError:
                    future.result()  # the worker's own error explains it best
                    raise
                future.result()
                pending.popleft()
                muxed += encoder.frames
                report()
        finally:
            stop.set()
            for encoder, future, _ in pending:
                future.cancel()
                encoder.fail()


def _user_permissions(path: Path) -> None:
    """Temp files are private; a delivered file gets the usual permissions (umask applied)."""
    mask = os.umask(0)
    os.umask(mask)
    try:
        os.chmod(path, 0o666 & ~mask)
    except OSError:
        pass


def shot_cut(cut: Cut, seg: Segment) -> Cut:
    """The whole shot of ``seg`` as a cut of its own, timecoded at its timeline position."""
    whole = replace(seg, record_start=0, offset=0, length=seg.shot_length)
    return Cut(cut.fps, cut.width, cut.height, [whole], seg.shot_length, seg.placement_start, cut.base_tc_frames,
               drop_frame=cut.drop_frame)


def shot_clip_name(seg: Segment, codec: str) -> str:
    return f"{seg.index + 1:03d}_{safe_filename(seg.name)}{CODECS[codec].suffix}"


# Shot clips are relinked by reel name, which only a QuickTime timecode track carries.
CLIP_CODECS = {"h264_delivery": "h264_clip"}


def write_shot_clips(project: Project, cut: Cut, codec: str, folder: Path, options: ExportOptions, meter: Meter,
                     warnings: list[str]) -> dict[int, Path]:
    """One clip per shot of the cut (whole shot, record timecode, reel name) in ``folder``.

    H.264 clips are written as QuickTime (.mov) so the reel name travels with them.
    """
    codec = CLIP_CODECS.get(codec, codec)
    written: dict[int, Path] = {}
    for seg in cut.clips():  # a clip hidden under V2 still gets its file (the timeline files keep it)
        if seg.index in written:
            continue
        meter.message = f"clip {seg.name}"
        path = folder / shot_clip_name(seg, codec)
        write_movie(project, shot_cut(cut, seg), codec, path, options, meter, warnings, reel=seg.reel, title=seg.name)
        written[seg.index] = path
    return written


def write_image_sequence(project: Project, cut: Cut, folder: Path, stem: str, options: ExportOptions,
                         meter: Meter, warnings: list[str]) -> list[Path]:
    """PNG frames numbered by their timecode frame count, plus a 24-bit 48 kHz WAV."""
    folder.mkdir(parents=True, exist_ok=True)
    pictures = SegmentPictures(project, cut, options.missing, options.burn_in, rgb=True)
    frame_no = cut.start_tc_frames
    stem = fit_name(stem, len(".0000000.png"))  # a folder named up to the limit still names its frames
    for seg in cut.segments:
        for picture in pictures.segment(seg):
            target = folder / f"{stem}.{frame_no:07d}.png"
            bgr = cv2.cvtColor(to_rgb(picture), cv2.COLOR_RGB2BGR)
            if not cv2.imwrite(str(target), bgr, [cv2.IMWRITE_PNG_COMPRESSION, 3]):
                raise OSError(f"cannot write {target}")
            frame_no += 1
            meter.step()
    wav = folder / f"{stem}.wav"
    write_bwf(wav, build_soundtrack(project, cut, options.take_audio, warnings), sample_at(cut.start_tc_frames, cut.fps),
              project.name)
    return sorted(folder.iterdir())
