"""FCPXML 1.8 for Final Cut Pro, written to Apple's DTD and timing rules.

Apple's rules (FCPXML Reference, "Story Elements" and "Timing Attributes"):

- every time is rational seconds on a frame boundary of its timebase
  (``N×1001/24000s`` at 23.976), never a rounded decimal;
- a spine item's ``offset`` is its place on the sequence's clock, which starts at
  ``tcStart``; its ``start`` is in its own media's time (the clip's source timecode), so
  ``start``…``start + duration`` lies inside the asset's ``start``…``start + duration``;
- a connected clip (``lane``) and a marker are timed in the parent's local time, that
  is from the parent's ``start``, inside the parent's visible range.

Dialogue carries the ``dialogue`` audio role; markers in gaps live on ``gap`` elements,
so none is lost. V1 is the primary storyline; a clip on V2 is connected above the spine
element under its first frame (``lane`` 1), its dialogue below (``lane`` -2).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from lxml import etree

from soul_studio.export.tracks import Item, Media, Tracks, xml_document_text

VERSION = "1.8"
REC709 = "1-1-1 (Rec. 709)"
DIALOGUE = "dialogue"


def fcpxml_time(frames: int, rate: Fraction) -> str:
    """``frames`` at ``rate`` as FCPXML time: whole seconds, or frames × frame duration."""
    value = Fraction(frames) / rate
    if value.denominator == 1:
        return f"{value.numerator}s"
    return f"{frames * rate.denominator}/{rate.numerator}s"


class _Writer:
    def __init__(self, tracks: Tracks) -> None:
        self.t = tracks
        self.rate = tracks.rate
        self.root = etree.Element("fcpxml", version=VERSION)
        self.resources = etree.SubElement(self.root, "resources")
        self.formats: dict[tuple[int, int], str] = {}
        self.assets: dict[str, str] = {}
        self._ids = 0

    def time(self, frames: int) -> str:
        return fcpxml_time(frames, self.rate)

    def _next_id(self) -> str:
        self._ids += 1
        return f"r{self._ids}"

    def format_id(self, width: int, height: int) -> str:
        """A format per frame size; stills get one too, with the sequence's frame duration
        (Final Cut reads a still as lasting as long as its clip says)."""
        key = (width, height)
        if key not in self.formats:
            attrs = {"id": self._next_id(), "frameDuration": fcpxml_time(1, self.rate),
                     "width": str(width), "height": str(height), "colorSpace": REC709}
            etree.SubElement(self.resources, "format", attrs)
            self.formats[key] = attrs["id"]
        return self.formats[key]

    def asset_id(self, media: Media) -> str:
        if media.url in self.assets:
            return self.assets[media.url]
        aid = self._next_id()
        attrs = {"id": aid, "name": media.name or media.reel, "src": media.url}
        if media.still:
            attrs.update(start="0s", duration="0s")
        else:
            attrs.update(start=self.time(media.start), duration=self.time(media.length or 0))
        if media.has_video:
            attrs["hasVideo"] = "1"
            attrs["format"] = self.format_id(media.width or self.t.width, media.height or self.t.height)
        if media.has_audio:
            attrs.update(hasAudio="1", audioSources="1", audioChannels=str(media.channels or 2), audioRate="48000")
        etree.SubElement(self.resources, "asset", attrs)
        self.assets[media.url] = aid
        return aid

    def document(self) -> etree._Element:
        seq_format = self.format_id(self.t.width, self.t.height)
        library = etree.SubElement(self.root, "library")
        event = etree.SubElement(library, "event", name=self.t.name)
        project = etree.SubElement(event, "project", name=self.t.name)
        sequence = etree.SubElement(project, "sequence", {
            "format": seq_format, "duration": self.time(self.t.length), "tcStart": self.time(self.t.start),
            "tcFormat": "DF" if self.t.drop else "NDF", "audioLayout": "stereo", "audioRate": "48k",
        })
        spine = etree.SubElement(sequence, "spine")
        layers = self.t.video_layers or [self.t.video]
        sound_layers = self.t.audio_layers or [self.t.audio]
        sounds = [{a.record_start: a for a in layer if a.kind == "clip"} for layer in sound_layers]
        placed: list[tuple[Item, etree._Element, int]] = []
        for item in layers[0]:  # V1 is the primary storyline
            element, local_start = self.spine_item(spine, item, sounds[0].get(item.record_start) if sounds else None)
            self.markers(element, item, local_start)
            placed.append((item, element, local_start))
        for lane, layer in enumerate(layers[1:], start=1):  # V2 and up: clips connected above it
            mine = sounds[lane] if lane < len(sounds) else {}
            for item in layer:
                if item.kind != "clip":
                    continue
                parent = next((p for p in placed if p[0].record_start <= item.record_start < p[0].record_end),
                              placed[-1])
                self.connected(parent, item, lane, mine.get(item.record_start))
        return self.root

    def _clip_attrs(self, item: Item, sound: Item | None, offset: str) -> tuple[dict[str, str], int]:
        """An asset-clip's attributes for ``item`` at ``offset``, and its local start frame."""
        media = item.media
        assert media is not None
        local_start = 0 if media.still else item.source_start
        attrs = {"ref": self.asset_id(media), "name": item.name, "offset": offset,
                 "start": self.time(local_start), "duration": self.time(item.length)}
        if media.still:
            del attrs["start"]
        separate_sound = sound is not None and sound.media is not None and sound.media.url != media.url
        if media.has_audio and not separate_sound:
            attrs["audioRole"] = DIALOGUE
        elif media.has_audio:
            attrs["srcEnable"] = "video"  # the dialogue recording below replaces the take's sound
        attrs["tcFormat"] = "DF" if self.t.drop else "NDF"
        return attrs, local_start

    def _sound(self, parent: etree._Element, item: Item, sound: Item | None, at: int, lane: int) -> None:
        """The dialogue recording of ``item`` as a connected audio clip below, ``at`` in the parent's time."""
        if sound is None or sound.media is None or (item.media is not None and sound.media.url == item.media.url):
            return
        etree.SubElement(parent, "asset-clip", {
            "ref": self.asset_id(sound.media), "lane": str(lane), "name": sound.name,
            "offset": self.time(at + (sound.record_start - item.record_start)),
            "start": self.time(sound.source_start), "duration": self.time(sound.length),
            "audioRole": DIALOGUE, "srcEnable": "audio",
        })

    def spine_item(self, spine: etree._Element, item: Item, sound: Item | None) -> tuple[etree._Element, int]:
        """The spine element for ``item`` and the frame its local clock starts at."""
        offset = self.time(self.t.start + item.record_start)
        if item.kind == "gap" or item.media is None:
            # A gap's local clock runs with the sequence's, which is how Final Cut writes them.
            element = etree.SubElement(spine, "gap", name=item.name or "Gap", offset=offset, start=offset,
                                       duration=self.time(item.length))
            local_start = self.t.start + item.record_start
        else:
            attrs, local_start = self._clip_attrs(item, sound, offset)
            element = etree.SubElement(spine, "asset-clip", attrs)
        self._sound(element, item, sound, local_start, -1)
        return element, local_start

    def connected(self, parent: tuple[Item, etree._Element, int], item: Item, lane: int, sound: Item | None) -> None:
        """A clip of V(lane + 1) connected to the spine element under its first frame, with its line below."""
        under, element, local = parent
        at = local + (item.record_start - under.record_start)  # the parent's local clock
        if item.media is not None:
            attrs, _ = self._clip_attrs(item, sound, self.time(at))
            attrs["lane"] = str(lane)
            etree.SubElement(element, "asset-clip", attrs)
        self._sound(element, item, sound, at, -1 - lane)

    def markers(self, element: etree._Element, item: Item, local: int) -> None:
        """Markers inside ``item``, on its local clock (a gap's runs with the sequence's)."""
        for marker in self.t.markers:
            if item.record_start <= marker.frame < item.record_end:
                attrs = {"start": self.time(local + marker.frame - item.record_start), "duration": self.time(1),
                         "value": marker.name or "Marker"}
                if marker.note:
                    attrs["note"] = marker.note
                etree.SubElement(element, "marker", attrs)


def fcpxml_text(tracks: Tracks) -> str:
    """The FCPXML document of ``tracks`` as text (UTF-8 declared, DOCTYPE included)."""
    return xml_document_text(_Writer(tracks).document(), "fcpxml", gap="\n")


def write_fcpxml(tracks: Tracks, path: Path) -> None:
    path.write_text(fcpxml_text(tracks), encoding="utf-8")
