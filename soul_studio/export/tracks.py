"""The cut as every timeline writer reads it: shots and gaps with record frames, media, markers.

Built from the OTIO timeline of :mod:`soul_studio.export.interchange`, so the FCP 7 XML,
FCPXML and EDL writers place a cut on exactly the frame the .otio file does. Writers
that keep tracks (FCP 7 XML, FCPXML) read ``video_layers``/``audio_layers``; one-track
formats (CMX 3600) read ``video``/``audio``, the picture with the upper track winning.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction

import opentimelineio as otio
from lxml import etree

from engine.timebase import fps_fraction, frames_to_timecode


@dataclass
class Media:
    """A source file: URL as written, its first frame's timecode (frames), length, streams."""

    url: str
    start: int
    length: int | None
    has_video: bool
    has_audio: bool
    channels: int
    width: int | None
    height: int | None
    still: bool
    reel: str
    name: str


@dataclass
class Item:
    """One stretch of a track: a shot's clip (media may be None) or a gap."""

    kind: str
    record_start: int
    length: int
    name: str = ""
    media: Media | None = None
    source_start: int = 0  # first frame used, in the media's own timecode frames
    shot_id: str = ""

    @property
    def record_end(self) -> int:
        return self.record_start + self.length


@dataclass
class TimelineMarker:
    frame: int
    name: str
    note: str
    colour: str


@dataclass
class Tracks:
    """What a writer needs: rate, timecode, size, the video and audio items and the markers."""

    name: str
    fps: float
    drop: bool
    start: int
    width: int
    height: int
    length: int
    video: list[Item]
    audio: list[Item]
    markers: list[TimelineMarker] = field(default_factory=list)
    video_layers: list[list[Item]] = field(default_factory=list)  # V1, V2, … (each with its gaps)
    audio_layers: list[list[Item]] = field(default_factory=list)  # the dialogue under each video track

    @property
    def rate(self) -> Fraction:
        return fps_fraction(self.fps)

    def timecode(self, frames: int) -> str:
        return frames_to_timecode(frames, self.fps, drop_frame=self.drop)


def _media(clip: otio.schema.Clip) -> Media | None:
    ref = clip.media_reference
    if not isinstance(ref, otio.schema.ExternalReference):
        return None
    info = dict(ref.metadata.get("soul_studio", {}))
    available = ref.available_range
    return Media(
        url=ref.target_url,
        start=int(round(available.start_time.value)) if available is not None else 0,
        length=int(round(available.duration.value)) if available is not None else None,
        has_video=bool(info.get("has_video", True)), has_audio=bool(info.get("has_audio", False)),
        channels=int(info.get("channels", 0) or 0), width=info.get("width"), height=info.get("height"),
        still=bool(info.get("still", False)), reel=ref.name or "", name=str(info.get("name", ref.name or "")),
    )


def _items(track: otio.schema.Track) -> list[Item]:
    items: list[Item] = []
    cursor = 0
    for child in track:
        length = int(round(child.source_range.duration.value))
        if isinstance(child, otio.schema.Clip):
            shot = child.metadata.get("soul_studio", {})
            items.append(Item("clip", cursor, length, child.name, _media(child),
                              int(round(child.source_range.start_time.value)), str(shot.get("shot_id", ""))))
        else:
            items.append(Item("gap", cursor, length))
        cursor += length
    return items


def flatten(layers: list[list[Item]], length: int) -> list[Item]:
    """One track of ``layers`` (lowest first) as it plays: the upper one wins, black where none plays."""
    taken: list[tuple[int, int]] = []
    pieces: list[Item] = []
    for layer in reversed(layers):
        for item in layer:
            if item.kind != "clip":
                continue
            free = [(item.record_start, item.record_end)]
            for a, b in taken:
                free = [piece for s, e in free for piece in ((s, min(e, a)), (max(s, b), e)) if piece[1] > piece[0]]
            pieces += [replace(item, record_start=s, length=e - s, source_start=item.source_start + s - item.record_start)
                       for s, e in free]
            taken.append((item.record_start, item.record_end))
    out: list[Item] = []
    cursor = 0
    for piece in sorted(pieces, key=lambda i: i.record_start):
        if piece.record_start > cursor:
            out.append(Item("gap", cursor, piece.record_start - cursor))
        out.append(piece)
        cursor = piece.record_end
    if cursor < length:
        out.append(Item("gap", cursor, length - cursor))
    return out


def tracks_of(timeline: otio.schema.Timeline) -> Tracks:
    """The writers' view of ``timeline`` (built by ``build_timeline``)."""
    meta = timeline.metadata.get("soul_studio", {})
    markers = [
        TimelineMarker(int(round(m.marked_range.start_time.value)), m.name,
                       str(m.metadata.get("soul_studio", {}).get("note", "")), m.color)
        for m in timeline.tracks.markers
    ]
    start = int(round(timeline.global_start_time.value)) if timeline.global_start_time is not None else 0
    video = [_items(t) for t in timeline.video_tracks()]
    audio = [_items(t) for t in timeline.audio_tracks()]
    length = max((sum(i.length for i in v) for v in video), default=0)
    return Tracks(
        name=timeline.name, fps=float(meta.get("fps", 24.0)), drop=bool(meta.get("drop_frame", False)),
        start=start, width=int(meta.get("width", 1920)), height=int(meta.get("height", 1080)),
        length=length, video=flatten(video, length), audio=[i for i in flatten(audio, length) if i.kind == "clip"],
        markers=markers, video_layers=video, audio_layers=audio,
    )


def xml_document_text(root: etree._Element, doctype: str, gap: str = "") -> str:
    """An XML timeline as editors write it: UTF-8 declaration, DOCTYPE (``gap`` after it), body."""
    body = etree.tostring(root, encoding="unicode", pretty_print=True)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE {doctype}>\n{gap}' + body
