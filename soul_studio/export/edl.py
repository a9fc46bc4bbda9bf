"""CMX 3600 EDLs for Avid Media Composer (and every conform tool that reads them).

CMX 3600 is 7-bit ASCII with fixed columns: event number, reel (8 characters), channel
(``V``, ``AA`` for a stereo pair), transition, then source in/out and record in/out
timecode, ``;`` before frames when ``FCM: DROP FRAME``. Clip names and locators go into
comment lines; names are transliterated to ASCII. Gaps on the picture track become
``BL`` (black) events, so a locator placed in a gap has an event to belong to; every
``* LOC:`` carries record timecode, as Avid reads it.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import opentimelineio as otio

from soul_studio.export.names import ascii_name
from soul_studio.export.tracks import Item, Tracks

AVID_COLOURS = {
    otio.schema.MarkerColor.RED: "RED", otio.schema.MarkerColor.ORANGE: "RED",
    otio.schema.MarkerColor.YELLOW: "YELLOW", otio.schema.MarkerColor.GREEN: "GREEN",
    otio.schema.MarkerColor.CYAN: "CYAN", otio.schema.MarkerColor.BLUE: "BLUE",
    otio.schema.MarkerColor.PURPLE: "MAGENTA", otio.schema.MarkerColor.PINK: "MAGENTA",
    otio.schema.MarkerColor.MAGENTA: "MAGENTA", otio.schema.MarkerColor.BLACK: "BLACK",
    otio.schema.MarkerColor.WHITE: "WHITE",
}


def _ascii_url(url: str) -> str:
    return url if url.isascii() else quote(url, safe="/:%")


def _event(number: int, reel: str, channel: str, src_in: str, src_out: str, rec_in: str, rec_out: str) -> str:
    return f"{number:03d}  {reel:<8} {channel:<5} C        {src_in} {src_out} {rec_in} {rec_out}"


def edl_text(tracks: Tracks) -> str:
    """The whole EDL: picture events (shots and black), then the dialogue events."""
    t = tracks
    lines = [f"TITLE: {ascii_name(t.name)[:70] or 'Untitled'}",
             "FCM: DROP FRAME" if t.drop else "FCM: NON-DROP FRAME", ""]
    number = 0
    placed: set[int] = set()

    def add(item: Item, channel: str) -> None:
        nonlocal number
        number += 1
        rec_in, rec_out = t.timecode(t.start + item.record_start), t.timecode(t.start + item.record_end)
        if item.kind == "gap":
            lines.append(_event(number, "BL", channel, t.timecode(0), t.timecode(item.length), rec_in, rec_out))
        else:
            media = item.media
            first = item.source_start if media is not None and not media.still else 0
            reel = (media.reel if media is not None else "") or "AX"
            lines.append(_event(number, ascii_name(reel)[:8] or "AX", channel, t.timecode(first),
                                t.timecode(first + item.length), rec_in, rec_out))
            lines.append(f"* FROM CLIP NAME: {ascii_name(item.name)}")
            if media is not None:
                lines.append(f"* FROM CLIP: {_ascii_url(media.url)}")
        if channel == "V":
            for i, marker in enumerate(t.markers):
                if i not in placed and item.record_start <= marker.frame < item.record_end:
                    placed.add(i)
                    colour = AVID_COLOURS.get(marker.colour, "YELLOW")
                    text = ascii_name(marker.name) or "MARKER"
                    lines.append(f"* LOC: {t.timecode(t.start + marker.frame)} {colour:<7} {text}")
        lines.append("")

    for item in t.video:
        add(item, "V")
    for item in t.audio:
        if item.kind == "clip":
            add(item, "AA")
    return "\n".join(lines).rstrip() + "\n"


def write_edl(tracks: Tracks, path: Path) -> None:
    path.write_text(edl_text(tracks), encoding="ascii")
