"""AAF for Avid: read back with pyaaf2 (the library Avid pipelines use) and with OTIO."""

from __future__ import annotations

from fractions import Fraction
from urllib.parse import unquote, urlparse

import aaf2
import opentimelineio as otio
import pytest

from soul_studio.export import ExportOptions, export_project
from tests.export.builders import NASTY_NAMES, build_project, not_stale


@pytest.mark.parametrize(("fps", "media", "tc"), [(23.976, "takes", 86400), (29.97, "export", 107892)])
def test_aaf_composition_with_linked_media_at_ntsc_rates(tmp_path, fps, media, tc):
    project = build_project(tmp_path / "p", fps=fps, names=NASTY_NAMES)
    result = export_project(project, "aaf", tmp_path / "cut.aaf",
                            ExportOptions(stale_check=not_stale, media=media, media_codec="mp4"))
    rate = Fraction(24000, 1001) if fps < 24 else Fraction(30000, 1001)
    placements = project.placements()
    with aaf2.open(str(result.path)) as f:
        comp = next(f.content.compositionmobs())
        slots = {s.name: s for s in comp.slots}
        assert set(slots) >= {"V1", "A1", "TC"}
        assert all(Fraction(s.edit_rate.numerator, s.edit_rate.denominator) == rate for s in comp.slots)
        assert slots["TC"].segment.start == tc
        picture = [(type(c).__name__, c.length) for c in slots["V1"].segment.components]
        assert picture == [("SourceClip", placements[0].length), ("Filler", placements[1].start - placements[0].end),
                           ("SourceClip", placements[1].length), ("SourceClip", placements[2].length)]
        masters = {m.name for m in f.content.mastermobs()}
        assert set(NASTY_NAMES) <= masters
        urls = {loc["URLString"].value for mob in f.content.sourcemobs() if mob.descriptor is not None
                for loc in mob.descriptor["Locator"].value}
        assert urls and all(_path(u).is_file() for u in urls)
    tl = otio.adapters.read_from_file(str(result.path))
    video = [c for c in tl.video_tracks()[0] if isinstance(c, otio.schema.Clip)]
    assert [c.name for c in video] == list(NASTY_NAMES)
    assert [c.range_in_parent().start_time.to_frames() for c in video] == [p.start for p in placements]


def _path(url: str):
    from pathlib import Path

    return Path(unquote(urlparse(url).path))
