"""Exporting a selection across V1 and V2: record order, the upper track winning, each clip on its track.

The builder's shots, re-cut: Ana asks on V1 [0,24), Ben answers on V2 [12,30) over her
second half, Ana again on V1 [36,48). Movies are decoded frame by frame; the timeline
files are read back (OTIO through its own reader, FCP 7 XML and FCPXML as XML, the EDL as text).
"""

from __future__ import annotations

import re
from xml.etree import ElementTree

import opentimelineio as otio
import pytest

from soul_studio.export import ExportOptions, export_project
from soul_studio.export.interchange import url_to_path
from soul_studio.project.model import TimelineEntry
from tests.export.builders import build_project, not_stale
from tests.export.conftest import decode_frames
from tests.export.helpers import classify

ALL_REVERSED = ["Ana again", "Ben answers", "Ana asks"]


def opts(**kw) -> ExportOptions:
    return ExportOptions(stale_check=not_stale, **kw)


@pytest.fixture(scope="module")
def layered(tmp_path_factory):
    project = build_project(tmp_path_factory.mktemp("layered") / "scene")
    a, b, c = (e.shot_id for e in project.timeline.entries)
    project.timeline.entries = [TimelineEntry(a), TimelineEntry(b, 12, "V2"), TimelineEntry(c, 12)]
    assert [(p.track, p.start, p.end) for p in project.placements()] == [("V1", 0, 24), ("V2", 12, 30),
                                                                          ("V1", 36, 48)]
    return project


def _tracks(tl: otio.schema.Timeline, kind: str) -> list[list[tuple[str, int, int]]]:
    out = []
    for track in (tl.video_tracks() if kind == "video" else tl.audio_tracks()):
        out.append([(c.name, c.range_in_parent().start_time.to_frames(), c.source_range.duration.to_frames())
                    for c in track if isinstance(c, otio.schema.Clip)])
    return out


@pytest.mark.parametrize(("shots", "expected"), [
    (ALL_REVERSED, [("A", i) for i in range(12)] + [("B", i) for i in range(18)] + [("portrait", -1)] * 12),
    (["Ana asks"], [("A", i) for i in range(24)]),  # Ben is not chosen: he does not hide her
    (["Ben answers", "Ana asks"], [("A", i) for i in range(12)] + [("B", i) for i in range(18)]),
])
def test_selected_movie_plays_in_record_order_with_v2_on_top(layered, tmp_path, shots, expected):
    result = export_project(layered, "mp4", tmp_path / "sel.mp4", opts(shots=shots))
    assert [classify(f) for f in decode_frames(result.path)] == expected
    assert result.frames == len(expected)


def test_the_cut_knows_which_lines_play_under_the_picture_above(layered):
    from soul_studio.export.cut import plan_cut

    for shots in (ALL_REVERSED, None):
        (under,) = plan_cut(layered, opts(shots=shots)).covered()  # Ana's second half, under Ben
        assert (under.name, under.track, under.record_start, under.length, under.offset) == (
            "Ana asks", "V1", 12, 12, 12)


def test_otio_of_a_selection_keeps_v2_on_v2(layered, tmp_path):
    result = export_project(layered, "otio", tmp_path / "sel.otio", opts(shots=ALL_REVERSED, media="takes"))
    tl = otio.adapters.read_from_file(str(result.path))
    assert [t.name for t in tl.video_tracks()] == ["V1", "V2"] and [t.name for t in tl.audio_tracks()] == ["A1", "A2"]
    # the time nobody chosen covers [30, 36) is taken out: Ana again follows at record 30
    assert _tracks(tl, "video") == [[("Ana asks", 0, 24), ("Ana again", 30, 12)], [("Ben answers", 12, 18)]]
    assert _tracks(tl, "audio") == _tracks(tl, "video")  # each line under its own picture
    v1, v2 = ([c for c in t if isinstance(c, otio.schema.Clip)] for t in tl.video_tracks())
    assert v1[0].source_range.start_time.to_frames() == 86400  # Ana's take from its first frame, whole
    assert v2[0].media_reference.target_url.endswith("b_draft.mp4")
    # with exported shot media every clip gets its file, Ben's on V2 too; Avid's AAF keeps both tracks
    result = export_project(layered, "otio", tmp_path / "media.otio", opts(shots=ALL_REVERSED))
    tl = otio.adapters.read_from_file(str(result.path))
    (ben,) = [c for c in tl.video_tracks()[1] if isinstance(c, otio.schema.Clip)]
    assert url_to_path(ben.media_reference.target_url, result.path.parent).is_file()
    aaf = otio.adapters.read_from_file(str(export_project(layered, "aaf", tmp_path / "sel.aaf",
                                                          opts(shots=ALL_REVERSED, media="takes")).path))
    assert [[c.name for c in t if isinstance(c, otio.schema.Clip)] for t in aaf.video_tracks()] == [
        ["Ana asks", "Ana again"], ["Ben answers"]]


def test_full_timeline_files_keep_tracks_and_the_edl_plays_the_picture(layered, tmp_path):
    tl = otio.adapters.read_from_file(str(export_project(layered, "otio", tmp_path / "all.otio",
                                                         opts(media="takes")).path))
    assert _tracks(tl, "video") == [[("Ana asks", 0, 24), ("Ana again", 36, 12)], [("Ben answers", 12, 18)]]
    assert tl.video_tracks()[0].duration().to_frames() == 48

    root = ElementTree.parse(export_project(layered, "fcp7xml", tmp_path / "all.xml", opts(media="takes")).path)
    tracks = root.findall("./sequence/media/video/track")
    got = [[(c.findtext("name"), int(c.findtext("start")), int(c.findtext("end"))) for c in t.findall("clipitem")]
           for t in tracks]
    assert got == [[("Ana asks", 0, 24), ("Ana again", 36, 48)], [("Ben answers", 12, 30)]]
    audio = root.findall("./sequence/media/audio/track")
    assert len(audio) == 4  # V1's dialogue on A1-A2, V2's on A3-A4
    assert [c.findtext("name") for c in audio[2].findall("clipitem")] == ["Ben answers"]
    ben = tracks[1].find("clipitem")
    assert {(ln.findtext("mediatype"), ln.findtext("trackindex")) for ln in ben.findall("link")} == {
        ("video", "2"), ("audio", "3")}  # the mono line on the first of them

    root = ElementTree.parse(export_project(layered, "fcpxml", tmp_path / "all.fcpxml", opts(media="takes")).path)
    spine = root.find(".//spine")
    assert [(e.tag, e.get("name")) for e in spine] == [("asset-clip", "Ana asks"), ("gap", "Gap"),
                                                      ("asset-clip", "Ana again")]
    (ben,) = [e for e in spine.iter("asset-clip") if e.get("lane") == "1"]
    assert ben.get("name") == "Ben answers" and ben in list(spine[0])  # connected to Ana's clip
    assert ben.get("offset") == "86412/24s"  # 12 frames into Ana's take (its clock starts at 86400)
    assert [e.get("name") for e in spine[0] if e.get("lane") == "-2"] == ["Ben answers"]  # his line below

    edl = export_project(layered, "edl", tmp_path / "all.edl", opts(media="takes")).path.read_text()
    events = [ln.split() for ln in edl.splitlines() if re.match(r"^\d{3} ", ln) and ln.split()[2] == "V"]
    assert [(e[1], e[6], e[7]) for e in events] == [
        ("ANAA0001", "01:00:00:00", "01:00:00:12"), ("BENA0002", "01:00:00:12", "01:00:01:06"),
        ("BL", "01:00:01:06", "01:00:01:12"), ("ANAA0003", "01:00:01:12", "01:00:02:00")]


def test_a_selection_keeps_the_line_heard_under_the_picture_above(layered, tmp_path):
    """Ana's 440 Hz line goes on under Ben's V2 picture, in a selection as in the full cut."""
    import numpy as np

    from tests.export.conftest import decode_audio

    def level(sound: np.ndarray, freq: float, a: float, b: float) -> float:
        piece = sound.mean(axis=0)[int(a * 48_000):int(b * 48_000)]
        t = np.arange(piece.size) / 48_000
        return float(abs(np.dot(piece, np.exp(-2j * np.pi * freq * t))) / max(1, piece.size))

    for shots in (ALL_REVERSED, None):
        sound = decode_audio(export_project(layered, "mp4", tmp_path / f"sel{len(shots or [])}.mp4",
                                            opts(shots=shots)).path)
        # frames 12-24 (0.5-1.0 s): Ben's picture and line, with Ana's line under it
        assert level(sound, 440.0, 0.55, 0.95) > 0.05, shots
        assert level(sound, 660.0, 0.55, 0.95) > 0.05, shots
