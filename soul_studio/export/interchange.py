"""Timelines for other editors through OpenTimelineIO: .otio, FCP 7 XML, FCPXML, EDL.

One OTIO timeline is built from the :class:`~soul_studio.export.cut.Cut`: a video track
per video track of the cut (V1, V2: each clip whole on the track it is on), under each an
audio track of its clips' dialogue (A1, A2), markers, global start time = start timecode;
the adapters turn it into each editor's format.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import opentimelineio as otio

from engine.media import MediaError, probe_audio, probe_video
from engine.timebase import fps_fraction, seconds_to_frames
from soul_studio.export.cut import Cut, Segment
from soul_studio.export.edl import write_edl
from soul_studio.export.fcp7 import write_fcp7
from soul_studio.export.fcpxml import write_fcpxml
from soul_studio.export.tracks import tracks_of
from soul_studio.project.model import Project

MARKER_COLOURS = {
    otio.schema.MarkerColor.RED: "#d05a5a", otio.schema.MarkerColor.ORANGE: "#e0904f",
    otio.schema.MarkerColor.YELLOW: "#e0c050", otio.schema.MarkerColor.GREEN: "#5fb37a",
    otio.schema.MarkerColor.CYAN: "#4fc0c0", otio.schema.MarkerColor.BLUE: "#4f8fd8",
    otio.schema.MarkerColor.PURPLE: "#b36fc7", otio.schema.MarkerColor.PINK: "#d05a7a",
}


@dataclass
class MediaLink:
    """A file a clip points at: timecode of its first frame, its length, where the shot starts
    in it, and what it holds (what FCP 7 XML, FCPXML and AAF describe for each file)."""

    path: Path
    start: int
    length: int | None
    clip_in: int = 0
    has_video: bool = True
    has_audio: bool = False
    channels: int = 0
    width: int | None = None
    height: int | None = None
    still: bool = False
    lead: int = 0  # frames of the shot before the media starts (a head handle's silence)
    plays: int | None = None  # frames of the media the shot plays from ``clip_in`` (a line: to its out point)

    def shown_from(self, seg: Segment) -> tuple[int, int]:
        """(frames of the segment before the media starts, media frame at the end of them)."""
        before = min(seg.length, max(0, self.lead - seg.offset))
        return before, self.start + self.clip_in + max(0, seg.offset - self.lead)

    def after(self, seg: Segment) -> int:
        """Frames at the end of the segment after the media the shot plays (a tail handle's silence)."""
        before = self.shown_from(seg)[0]
        if self.plays is None:
            return 0
        left = max(0, self.plays - max(0, seg.offset - self.lead))
        return max(0, seg.length - before - left)


def _rt(frames: float, rate: float) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(frames, rate)


def _range(start: float, length: float, rate: float) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(_rt(start, rate), _rt(length, rate))


def media_url(path: Path, base: Path, relative: bool) -> str:
    """A path relative to the interchange file's folder, or an absolute ``file://`` URL."""
    if relative:
        try:
            return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()
        except ValueError:  # another drive on Windows
            pass
    return path.resolve().as_uri()


def url_to_path(url: str, base: Path) -> Path:
    """Inverse of :func:`media_url` (what a test or a relinker uses to find the file)."""
    from urllib.parse import unquote, urlparse

    if url.startswith("file:"):
        return Path(unquote(urlparse(url).path))
    p = Path(unquote(url))
    return p if p.is_absolute() else (base / p)


def _nearest_colour(hex_colour: str) -> str:
    def rgb(text: str) -> tuple[int, int, int]:
        t = text.lstrip("#")
        return int(t[0:2], 16), int(t[2:4], 16), int(t[4:6], 16)

    try:
        want = rgb(hex_colour)
    except (ValueError, IndexError):
        return otio.schema.MarkerColor.YELLOW
    return min(MARKER_COLOURS, key=lambda k: sum((a - b) ** 2 for a, b in zip(rgb(MARKER_COLOURS[k]), want)))


def take_link(seg: Segment) -> MediaLink | None:
    """The take on disk with its own start timecode (takes are stamped when rendered)."""
    if seg.take_path is None:
        return None
    from engine.timebase import timecode_to_frames

    try:
        info = probe_video(seg.take_path, count_frames=False)
        if not info.frame_count:
            info = probe_video(seg.take_path, count_frames=True)
    except MediaError:
        return None
    start = 0
    if info.timecode:
        try:
            start = timecode_to_frames(info.timecode, float(info.fps) if info.fps else 24.0)
        except ValueError:
            start = 0
    offset = seg.take.offset if seg.take is not None else 0  # negative: the take starts inside its shot
    return MediaLink(seg.take_path, start, info.frame_count or None, max(0, offset),
                     has_audio=info.audio_codec is not None, channels=info.audio_channels or 0, width=info.width,
                     height=info.height, lead=max(0, -offset))


def build_timeline(project: Project, cut: Cut, video: dict[int, MediaLink], audio: dict[int, MediaLink],
                   base: Path, relative: bool, name: str | None = None) -> otio.schema.Timeline:
    """The OTIO timeline of ``cut``; ``video``/``audio`` map a shot's timeline index to its media."""
    rate = float(fps_fraction(cut.fps))
    timeline = otio.schema.Timeline(name=name or project.name)
    timeline.global_start_time = _rt(cut.start_tc_frames, rate)
    layers = {"V1": [], **cut.layers} if cut.layers else {"V1": cut.shots()}
    vtracks: list[otio.schema.Track] = []
    atracks: list[otio.schema.Track] = []
    placed: list[tuple[int, int, otio.schema.Clip]] = []  # (record start, end, clip), lower tracks first
    for n, (key, segments) in enumerate(layers.items()):
        vtrack = otio.schema.Track(name=key, kind=otio.schema.TrackKind.Video)
        atrack = otio.schema.Track(name=f"A{n + 1}", kind=otio.schema.TrackKind.Audio)
        cursor = 0
        for seg in segments:
            if seg.record_start > cursor:
                for track in (vtrack, atrack):
                    track.append(otio.schema.Gap(source_range=_range(0, seg.record_start - cursor, rate)))
            picture = video.get(seg.index)
            clip, before = _place(vtrack, seg, picture, rate, base, relative, seg.reel)
            if clip is not None:
                placed.append((seg.record_start + before, seg.record_end, clip))
            link = audio.get(seg.index)
            if link is None:
                atrack.append(otio.schema.Gap(source_range=_range(0, seg.length, rate)))
            else:
                same = picture is not None and picture.path == link.path
                _place(atrack, seg, link, rate, base, relative, seg.reel if same else file_reel(link.path))
            cursor = seg.record_end
        if n == 0 and cursor < cut.length:  # the bottom track runs the whole cut, black where nothing plays
            for track in (vtrack, atrack):
                track.append(otio.schema.Gap(source_range=_range(0, cut.length - cursor, rate)))
        vtracks.append(vtrack)
        atracks.append(atrack)
    timeline.tracks.extend([*vtracks, *atracks])
    _add_markers(project, cut, timeline, placed, rate)
    timeline.metadata["soul_studio"] = {
        "project": project.name, "fps": cut.fps, "width": cut.width, "height": cut.height,
        "start_timecode": cut.start_timecode, "drop_frame": cut.drop,
    }
    return timeline


def file_reel(path: Path) -> str:
    """Reel name for a source file of its own (a dialogue recording): its name, 8 characters."""
    return (re.sub(r"[^A-Za-z0-9]", "", path.stem.upper()) or "AX")[:8]


def _place(track: otio.schema.Track, seg: Segment, link: MediaLink | None, rate: float, base: Path, relative: bool,
           reel: str) -> tuple[otio.schema.Clip | None, int]:
    """The segment's clip on ``track``, after a gap where its media has not started yet (a head
    handle); returns the clip (None when the gap is all of it) and the frames of that gap."""
    before, first = link.shown_from(seg) if link is not None else (0, seg.offset)
    after = link.after(seg) if link is not None else 0
    if before + after >= seg.length:
        track.append(otio.schema.Gap(source_range=_range(0, seg.length, rate)))
        return None, before
    if before:
        track.append(otio.schema.Gap(source_range=_range(0, before, rate)))
    clip = _clip(seg, link, _range(first, seg.length - before - after, rate), base, relative, reel)
    track.append(clip)
    if after:
        track.append(otio.schema.Gap(source_range=_range(0, after, rate)))
    return clip, before


def _clip(seg: Segment, link: MediaLink | None, source: otio.opentime.TimeRange, base: Path, relative: bool,
          reel: str) -> otio.schema.Clip:
    """The clip showing ``source`` of the segment's media (the part of the shot its media covers)."""
    shot = seg.shot
    assert shot is not None
    meta = {"soul_studio": {"shot_id": shot.id, "text": shot.text, "take": seg.take.file if seg.take else None},
            "cmx_3600": {"reel": reel}}
    if link is None:
        ref: otio.core.MediaReference = otio.schema.MissingReference(name=seg.name)
        return otio.schema.Clip(name=seg.name, media_reference=ref, source_range=source, metadata=meta)
    rate = source.duration.rate
    available = None
    if link.length is not None:
        available = _range(link.start, link.length, rate)
    ref = otio.schema.ExternalReference(target_url=media_url(link.path, base, relative), available_range=available)
    ref.name = reel
    ref.metadata["soul_studio"] = {
        "has_video": link.has_video, "has_audio": link.has_audio, "channels": link.channels,
        "width": link.width, "height": link.height, "still": link.still, "name": link.path.name,
    }
    return otio.schema.Clip(name=seg.name, media_reference=ref, source_range=source, metadata=meta)


def _add_markers(project: Project, cut: Cut, timeline: otio.schema.Timeline,
                 placed: list[tuple[int, int, otio.schema.Clip]], rate: float) -> None:
    """Markers on the sequence, and on the topmost clip under them (EDL and XML read them there)."""
    for marker in project.timeline.markers:
        frame = cut.record_frame(marker.frame)
        if frame is None:
            continue
        colour = _nearest_colour(marker.colour)
        meta = {"soul_studio": {"note": marker.note, "id": marker.id}}
        timeline.tracks.markers.append(
            otio.schema.Marker(name=marker.name, marked_range=_range(frame, 0, rate), color=colour, metadata=meta)
        )
        under = [(start, clip) for start, end, clip in placed if start <= frame < end]
        if under:
            start, clip = under[-1]
            at = clip.source_range.start_time.value + (frame - start)
            clip.markers.append(
                otio.schema.Marker(name=marker.name, marked_range=_range(at, 0, rate), color=colour, metadata=meta)
            )


def write_interchange(timeline: otio.schema.Timeline, fmt: str, path: Path, fps: float) -> None:
    """Write ``timeline`` in ``fmt`` to ``path`` (the caller stages and renames it).

    OTIO and AAF go through OpenTimelineIO's adapters; FCP 7 XML, FCPXML and CMX 3600
    are written by Soul Studio's own writers, which follow each editor's documented rules
    (the adapters' output breaks on NTSC rates, drop-frame timecode and some names).
    """
    if fmt == "otio":
        otio.adapters.write_to_file(timeline, str(path), adapter_name="otio_json")
        return
    if fmt == "aaf":
        from soul_studio.export.aaf import write_aaf

        write_aaf(timeline, path)
        return
    tracks = tracks_of(timeline)
    if fmt == "fcp7xml":
        write_fcp7(tracks, path)
    elif fmt == "fcpxml":
        write_fcpxml(tracks, path)
    elif fmt == "edl":
        write_edl(tracks, path)
    else:
        raise ValueError(f"unknown timeline format {fmt!r}")


def dialogue_link(project: Project, seg: Segment, fps: float) -> MediaLink | None:
    """The shot's source audio file; media time counts from the file's start."""
    shot = seg.shot
    assert shot is not None
    if not shot.audio:
        return None
    path = project.resolve(shot.audio)
    if path is None or not path.is_file():
        return None
    seconds = shot.audio_length
    if not seconds:
        try:
            seconds = probe_audio(path).duration
        except MediaError:
            seconds = None
    length = seconds_to_frames(seconds, fps) if seconds else None
    try:
        channels = probe_audio(path).channels
    except MediaError:
        channels = 1
    end = shot.audio_out if shot.audio_out is not None else seconds
    # a reaction after the line is silence: the clip stops at the out point (the line's frames, as the shot counts them)
    plays = seconds_to_frames(end - shot.audio_in, fps) if shot.handle_tail > 0 and end is not None else None
    return MediaLink(path, 0, length, seconds_to_frames(shot.audio_in, fps), has_video=False, has_audio=True,
                     channels=channels, lead=seconds_to_frames(shot.lead_in, fps), plays=plays)
