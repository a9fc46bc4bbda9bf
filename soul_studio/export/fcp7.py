"""Final Cut Pro 7 XML (xmeml 5), the sequence format Premiere Pro and DaVinci Resolve import.

What the importers need (Apple's "Final Cut Pro XML Interchange Format" reference, as
Premiere and Resolve read it):

- ``<rate>`` as integer ``timebase`` plus ``ntsc`` TRUE for 23.976/29.97; the sequence
  ``<timecode>`` with ``string`` (``;`` before frames when drop-frame), ``frame`` and
  ``displayformat`` DF/NDF;
- a sequence ``<format>`` (frame size, rate) and the audio format (48 kHz, 24-bit);
- one clip item per picture and one per audio channel, each ``<link>``-ing to all of
  them, itself included, so the editor keeps picture and sound in sync when moving them;
- one video ``<track>`` per video track (the first is V1), each track's dialogue on audio
  tracks of its own, so a clip on V2 comes back on V2 with its line beside it;
- clip ``in``/``out`` counted from the media's first frame, ``start``/``end`` in sequence
  frames, and a ``<file>`` written in full once and referred to by id afterwards;
- markers on the sequence, ``in`` in sequence frames, which keeps the ones in gaps.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from engine.timebase import timecode_base
from soul_studio.export.tracks import Item, Media, Tracks, xml_document_text

AUDIO_RATE, AUDIO_DEPTH = 48_000, 24


def _text(parent: etree._Element, tag: str, value: object) -> etree._Element:
    element = etree.SubElement(parent, tag)
    element.text = str(value)
    return element


class _Writer:
    def __init__(self, tracks: Tracks) -> None:
        self.t = tracks
        self.ntsc = tracks.rate.denominator == 1001
        self.files: dict[str, str] = {}
        self.written: set[str] = set()
        self._clips = 0

    def rate(self, parent: etree._Element) -> None:
        rate = etree.SubElement(parent, "rate")
        _text(rate, "timebase", timecode_base(self.t.fps))
        _text(rate, "ntsc", "TRUE" if self.ntsc else "FALSE")

    def timecode(self, parent: etree._Element, frames: int, reel: str | None = None) -> None:
        tc = etree.SubElement(parent, "timecode")
        self.rate(tc)
        _text(tc, "string", self.t.timecode(frames))
        _text(tc, "frame", frames)
        _text(tc, "displayformat", "DF" if self.t.drop else "NDF")
        if reel:
            _text(etree.SubElement(tc, "reel"), "name", reel)

    def video_format(self, parent: etree._Element, width: int, height: int) -> None:
        chars = etree.SubElement(etree.SubElement(parent, "format"), "samplecharacteristics")
        self.rate(chars)
        _text(chars, "width", width)
        _text(chars, "height", height)
        _text(chars, "anamorphic", "FALSE")
        _text(chars, "pixelaspectratio", "square")
        _text(chars, "fielddominance", "none")
        _text(chars, "colordepth", 24)

    def audio_chars(self, parent: etree._Element) -> None:
        chars = etree.SubElement(parent, "samplecharacteristics")
        _text(chars, "depth", AUDIO_DEPTH)
        _text(chars, "samplerate", AUDIO_RATE)

    def file(self, parent: etree._Element, media: Media, length: int) -> None:
        fid = self.files.setdefault(media.url, f"file-{len(self.files) + 1}")
        element = etree.SubElement(parent, "file", id=fid)
        if fid in self.written:
            return
        self.written.add(fid)
        _text(element, "name", media.name)
        _text(element, "pathurl", media.url)
        self.rate(element)
        _text(element, "duration", media.length if media.length is not None else length)
        self.timecode(element, media.start, media.reel)
        media_el = etree.SubElement(element, "media")
        if media.has_video:
            video = etree.SubElement(media_el, "video")
            chars = etree.SubElement(video, "samplecharacteristics")
            self.rate(chars)
            _text(chars, "width", media.width or self.t.width)
            _text(chars, "height", media.height or self.t.height)
        if media.has_audio:
            audio = etree.SubElement(media_el, "audio")
            self.audio_chars(audio)
            _text(audio, "channelcount", media.channels or 2)

    def clipitem(self, track: etree._Element, item: Item, media: Media | None, cid: str) -> etree._Element:
        clip = etree.SubElement(track, "clipitem", id=cid)
        _text(clip, "masterclipid", f"masterclip-{self.files.get(media.url, cid) if media else cid}")
        _text(clip, "name", item.name)
        _text(clip, "enabled", "TRUE")
        media_length = (media.length if media is not None and media.length is not None and not media.still
                        else item.length)
        _text(clip, "duration", media_length)
        self.rate(clip)
        _text(clip, "start", item.record_start)
        _text(clip, "end", item.record_end)
        first = 0 if media is None or media.still else item.source_start - media.start
        _text(clip, "in", first)
        _text(clip, "out", first + item.length)
        if media is not None:
            self.file(clip, media, item.length)
        return clip

    def document(self) -> etree._Element:
        root = etree.Element("xmeml", version="5")
        seq = etree.SubElement(root, "sequence", id="sequence-1")
        _text(seq, "name", self.t.name)
        _text(seq, "duration", self.t.length)
        self.rate(seq)
        self.timecode(seq, self.t.start)
        _text(seq, "in", -1)
        _text(seq, "out", -1)
        media = etree.SubElement(seq, "media")
        video = etree.SubElement(media, "video")
        self.video_format(video, self.t.width, self.t.height)
        layers = self.t.video_layers or [self.t.video]
        sound_layers = self.t.audio_layers or [self.t.audio]
        vtracks = [etree.SubElement(video, "track") for _ in layers]
        audio = etree.SubElement(media, "audio")
        _text(audio, "numOutputChannels", 2)
        self.audio_chars(etree.SubElement(audio, "format"))
        sounds = [[a for a in layer if a.kind == "clip" and a.media is not None] for layer in sound_layers]
        channels = max([2] + [min(2, s.media.channels or 2) for layer in sounds for s in layer if s.media is not None])
        # each video track's dialogue on its own audio tracks (one per channel): V1 → A1-A2, V2 → A3-A4
        atracks = [etree.SubElement(audio, "track") for _ in range(channels * len(layers))]
        aindex = [0] * len(atracks)
        for n, layer in enumerate(layers):
            by_start = {s.record_start: s for s in (sounds[n] if n < len(sounds) else [])}
            vindex = 0
            for item in layer:
                if item.kind != "clip":
                    continue
                vindex += 1
                self._clips += 1
                vid = f"clipitem-{self._clips}"
                links = [(vid, "video", n + 1, vindex)]
                vclip = self.clipitem(vtracks[n], item, item.media, vid)
                aclips: list[etree._Element] = []
                sound = by_start.get(item.record_start)
                if sound is not None and sound.media is not None:
                    for ch in range(min(channels, max(1, sound.media.channels or 2))):
                        track = n * channels + ch
                        aindex[track] += 1
                        self._clips += 1
                        aid = f"clipitem-{self._clips}"
                        aclip = self.clipitem(atracks[track], sound, sound.media, aid)
                        source = etree.SubElement(aclip, "sourcetrack")
                        _text(source, "mediatype", "audio")
                        _text(source, "trackindex", ch + 1)
                        links.append((aid, "audio", track + 1, aindex[track]))
                        aclips.append(aclip)
                for clip in [vclip, *aclips]:
                    for ref, kind, track_index, clip_index in links:
                        link = etree.SubElement(clip, "link")
                        _text(link, "linkclipref", ref)
                        _text(link, "mediatype", kind)
                        _text(link, "trackindex", track_index)
                        _text(link, "clipindex", clip_index)
                        if kind == "audio":
                            _text(link, "groupindex", 1)
        for marker in self.t.markers:
            element = etree.SubElement(seq, "marker")
            _text(element, "name", marker.name)
            _text(element, "comment", marker.note)
            _text(element, "in", marker.frame)
            _text(element, "out", -1)
        return root


def fcp7_text(tracks: Tracks) -> str:
    return xml_document_text(_Writer(tracks).document(), "xmeml")


def write_fcp7(tracks: Tracks, path: Path) -> None:
    path.write_text(fcp7_text(tracks), encoding="utf-8")
