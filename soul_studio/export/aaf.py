"""AAF for Avid Media Composer, through OpenTimelineIO's AAF adapter (pyaaf2).

Avid links a composition's clips to media through source mobs: every file gets one
MobID, shared by its picture and its sound, and a network locator with its URL, so
Media Composer relinks (or AMA-links) each clip to the file it came from. Shots with no
media become filler, which is what AAF has for "nothing here".
"""

from __future__ import annotations

import copy
from pathlib import Path

import opentimelineio as otio


def aaf_timeline(timeline: otio.schema.Timeline) -> otio.schema.Timeline:
    """A copy of ``timeline`` the AAF adapter accepts: MobIDs per file, filler for no media."""
    import aaf2

    tl = copy.deepcopy(timeline)
    mob_ids: dict[str, str] = {}
    for track in tl.tracks:
        for index, child in enumerate(list(track)):
            if not isinstance(child, otio.schema.Clip):
                continue
            ref = child.media_reference
            if not isinstance(ref, otio.schema.ExternalReference) or ref.available_range is None:
                track[index] = otio.schema.Gap(source_range=otio.opentime.TimeRange(
                    otio.opentime.RationalTime(0, child.source_range.duration.rate), child.source_range.duration))
                continue
            mob_id = mob_ids.setdefault(ref.target_url, str(aaf2.mobid.MobID.new()))
            ref.metadata["AAF"] = {"MobID": mob_id}
            child.metadata["AAF"] = {"MobID": mob_id}
    return tl


def write_aaf(timeline: otio.schema.Timeline, path: Path) -> None:
    """Write ``timeline`` as an AAF composition with its media linked by locator."""
    otio.adapters.write_to_file(aaf_timeline(timeline), str(path), adapter_name="AAF")
