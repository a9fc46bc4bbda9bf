"""Conformed movies, per-shot clips and image sequences, streamed frame by frame."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import av
import cv2
import numpy as np

from engine.media import CODECS, VideoWriter, write_audio
from soul_studio.export.cut import Cut, Segment, safe_filename
from soul_studio.export.frames import Picture, SegmentPictures, to_rgb
from soul_studio.export.options import ExportOptions
from soul_studio.export.output import Meter
from soul_studio.export.soundtrack import build_soundtrack
from soul_studio.project.model import Project


class EncoderFeed:
    """Turns RGB arrays into frames the encoder takes without a slow colour conversion.

    For 4:2:0 delivery, OpenCV's I420 conversion is several times faster than the
    generic RGB→YUV path; repeated pictures (black, stills) are converted once.
    """

    def __init__(self, pix_fmt: str) -> None:
        self.yuv420 = pix_fmt == "yuv420p"
        self._src: np.ndarray | None = None
        self._out: av.VideoFrame | None = None

    def __call__(self, picture: Picture) -> Picture:
        if isinstance(picture, av.VideoFrame) or not self.yuv420:
            return picture
        if picture is self._src and self._out is not None:
            return self._out
        i420 = cv2.cvtColor(np.ascontiguousarray(picture), cv2.COLOR_RGB2YUV_I420)
        frame = av.VideoFrame.from_ndarray(i420, format="yuv420p")
        self._src, self._out = picture, frame
        return frame


def write_movie(project: Project, cut: Cut, codec: str, path: Path, options: ExportOptions, meter: Meter,
                warnings: list[str], reel: str | None = None, title: str | None = None) -> int:
    """Encode ``cut`` (picture and dialogue) into ``path``; returns frames written."""
    audio = build_soundtrack(project, cut, options.take_audio, warnings)
    pictures = SegmentPictures(project, cut, options.missing, options.burn_in)
    feed = EncoderFeed(CODECS[codec].pix_fmt)
    metadata = {"title": title or project.name, "encoder": "Soul Studio"}
    writer = VideoWriter(path, cut.fps, cut.width, cut.height, codec, audio=audio,
                         start_timecode=cut.start_timecode, overwrite=True, metadata=metadata, reel=reel)
    try:
        for seg in cut.segments:
            for picture in pictures.segment(seg):
                writer.write(feed(picture))
                meter.step()
        writer.close()
    except BaseException:
        writer.abort()
        raise
    _user_permissions(path)
    return writer.frames_written


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
    return Cut(cut.fps, cut.width, cut.height, [whole], seg.shot_length, seg.placement_start, cut.base_tc_frames)


def shot_clip_name(seg: Segment, codec: str) -> str:
    return f"{seg.index + 1:03d}_{safe_filename(seg.name)}{CODECS[codec].suffix}"


def write_shot_clips(project: Project, cut: Cut, codec: str, folder: Path, options: ExportOptions, meter: Meter,
                     warnings: list[str]) -> dict[int, Path]:
    """One clip per shot of the cut (whole shot, record timecode, reel name) in ``folder``."""
    written: dict[int, Path] = {}
    for seg in cut.shots():
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
    for seg in cut.segments:
        for picture in pictures.segment(seg):
            target = folder / f"{stem}.{frame_no:07d}.png"
            bgr = cv2.cvtColor(to_rgb(picture), cv2.COLOR_RGB2BGR)
            if not cv2.imwrite(str(target), bgr, [cv2.IMWRITE_PNG_COMPRESSION, 3]):
                raise OSError(f"cannot write {target}")
            frame_no += 1
            meter.step()
    wav = folder / f"{stem}.wav"
    write_audio(wav, build_soundtrack(project, cut, options.take_audio, warnings), codec="pcm_s24le")
    return sorted(folder.iterdir())
