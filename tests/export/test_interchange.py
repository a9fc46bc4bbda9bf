"""Timelines for other editors: read each file back (OTIO and as text) and check it."""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree

import opentimelineio as otio
import pytest

from engine.media import probe_video
from soul_studio.export import ExportOptions, export_project
from soul_studio.export.interchange import url_to_path
from tests.export.builders import build_project, not_stale

NAMES = ["Ana asks", "Ben answers", "Ana again"]
# Record positions (frames from 01:00:00:00 at 24 fps) and lengths of the three shots.
STARTS, LENGTHS = [86400, 86430, 86448], [24, 18, 12]


def opts(**kw) -> ExportOptions:
    return ExportOptions(stale_check=not_stale, **kw)


def read(path: Path) -> otio.schema.Timeline:
    kw = {"rate": 24} if path.suffix == ".edl" else {}
    tl = otio.adapters.read_from_file(str(path), **kw)
    return tl if isinstance(tl, otio.schema.Timeline) else next(iter(tl.find_children(descended_from_type=otio.schema.Timeline)))


def clips(track: otio.schema.Track) -> list[otio.schema.Clip]:
    return [c for c in track if isinstance(c, otio.schema.Clip)]


def test_otio_round_trip_with_exported_shot_media(project, out_dir):
    result = export_project(project, "otio", out_dir / "scene.otio", opts())
    tl = read(result.path)
    assert tl.global_start_time.to_frames() == 86400
    video, audio = tl.video_tracks()[0], tl.audio_tracks()[0]
    assert [type(c).__name__ for c in video] == ["Clip", "Gap", "Clip", "Clip"]
    assert [c.name for c in clips(video)] == NAMES == [c.name for c in clips(audio)]
    for clip, start, length in zip(clips(video), STARTS, LENGTHS):
        assert clip.source_range.start_time.to_frames() == start  # source timecode = record timecode
        assert clip.source_range.duration.to_frames() == length
        media = url_to_path(clip.media_reference.target_url, result.path.parent)
        assert media.is_file() and media.parent.name == "scene_media"
        info = probe_video(media)
        assert info.frame_count == length and info.audio_channels == 2
        assert otio.opentime.from_timecode(info.timecode, 24).to_frames() == start
    for clip in clips(video):
        assert clip.range_in_parent().start_time.to_frames() + 86400 == clip.source_range.start_time.to_frames()
    markers = tl.tracks.markers
    assert [(m.name, m.marked_range.start_time.to_frames()) for m in markers] == [("Beat", 33)]
    assert [m.name for m in clips(video)[1].markers] == ["Beat"]


def test_fcp7_xml_for_premiere_and_resolve(project, out_dir):
    result = export_project(project, "fcp7xml", out_dir / "scene.xml", opts())
    root = ElementTree.parse(result.path).getroot()
    seq = root.find(".//sequence")
    assert seq.find("./timecode/string").text == "01:00:00:00"
    items = seq.findall("./media/video/track/clipitem")
    assert [i.find("name").text for i in items] == NAMES
    assert [(int(i.find("start").text), int(i.find("end").text)) for i in items] == [(0, 24), (30, 48), (48, 60)]
    assert len(seq.findall("./media/audio/track/clipitem")) == 6  # a clip item per stereo channel
    for url in (e.text for e in root.iter("pathurl")):
        assert url_to_path(url, result.path.parent).is_file()
    assert [(m.find("name").text, m.find("in").text) for m in seq.findall("marker")] == [("Beat", "33")]
    tl = read(result.path)
    assert tl.global_start_time.to_frames() == 86400
    assert [c.source_range.start_time.to_frames() for c in clips(tl.video_tracks()[0])] == STARTS


def test_fcpxml_has_start_timecode_and_linked_assets(project, out_dir):
    result = export_project(project, "fcpxml", out_dir / "scene.fcpxml", opts())
    root = ElementTree.parse(result.path).getroot()
    seq = root.find(".//sequence")
    assert seq.get("tcStart") == "3600s" and seq.get("tcFormat") == "NDF"
    spine = [e for e in seq.find("spine") if e.tag == "asset-clip"]
    assert [e.get("name") for e in spine] == NAMES
    assert [e.get("offset") for e in spine] == ["3600s", "86430/24s", "3602s"]
    assert [e.get("start") for e in spine] == ["3600s", "86430/24s", "3602s"]  # the clips' own timecode
    assert [e.get("audioRole") for e in spine] == ["dialogue"] * 3
    for asset in root.iter("asset"):
        assert url_to_path(asset.get("src"), result.path.parent).is_file()
    fmt = root.find(".//format")
    assert (fmt.get("width"), fmt.get("height")) == ("128", "72")
    tl = read(result.path)
    assert [c.name for c in clips(tl.video_tracks()[0])] == NAMES


def test_edl_for_avid(project, out_dir):
    result = export_project(project, "edl", out_dir / "scene.edl", opts())
    text = result.path.read_text()
    assert text.splitlines()[:2] == ["TITLE: Scene", "FCM: NON-DROP FRAME"]
    events = [line.split() for line in text.splitlines() if re.match(r"^\d{3} ", line)]
    assert [e[0] for e in events] == [f"{i:03d}" for i in range(1, 8)]
    assert [e[2] for e in events] == ["V"] * 4 + ["AA"] * 3
    assert events[1][1] == "BL"  # the gap is black on the picture track
    shots = [e for e in events[:4] if e[1] != "BL"]
    rec = [(e[6], e[7]) for e in shots]
    assert rec == [("01:00:00:00", "01:00:01:00"), ("01:00:01:06", "01:00:02:00"), ("01:00:02:00", "01:00:02:12")]
    assert [(e[4], e[5]) for e in shots] == rec  # per-shot clips carry their record timecode
    assert all(len(e[1]) <= 8 for e in events)
    assert "* LOC: 01:00:01:09 YELLOW  Beat" in text
    for url in re.findall(r"^\* FROM CLIP: (.+)$", text, flags=re.M):
        assert url_to_path(url, result.path.parent).is_file()
    tl = read(result.path)
    assert [c.name for c in clips(tl.video_tracks()[0]) if c.metadata["cmx_3600"]["reel"] != "BL"] == NAMES


def test_drop_frame_edl_at_29_97(tmp_path):
    project = build_project(tmp_path / "p", fps=29.97)
    result = export_project(project, "edl", tmp_path / "df.edl", opts(media_codec="mp4"))
    text = result.path.read_text()
    assert "FCM: DROP FRAME" in text
    first = next(line for line in text.splitlines() if line.startswith("001 ")).split()
    assert first[6] == "01:00:00;00" and first[7] == "01:00:01;00"


def test_relative_links_to_takes_on_disk(project, out_dir):
    result = export_project(project, "fcp7xml", out_dir / "takes.xml", opts(media="takes", relative_paths=True))
    assert not (out_dir / "takes_media").exists()  # nothing exported: the takes are linked
    root = ElementTree.parse(result.path).getroot()
    urls = [e.text for e in root.iter("pathurl")]
    assert all(not u.startswith("file:") and not u.startswith("/") for u in urls)
    names = {url_to_path(u, result.path.parent).resolve() for u in urls}
    folder = project.folder
    assert {folder / "takes/a_final.mp4", folder / "takes/b_draft.mp4", folder / "media/ana.png",
            folder / "media/line0.wav", folder / "media/line1.wav", folder / "media/line2.wav"} == names
    tl = read(result.path)
    video, audio = clips(tl.video_tracks()[0]), clips(tl.audio_tracks()[0])
    assert video[0].source_range.start_time.to_frames() == 86400  # the take's own timecode
    assert [c.source_range.start_time.to_frames() for c in audio] == [6, 6, 6]  # audio in = 0.25 s


@pytest.mark.parametrize("fmt", ["otio", "edl"])
def test_range_and_selection_interchange(project, out_dir, fmt):
    tl = read(export_project(project, fmt, out_dir / f"range.{fmt}", opts(frame_range=(20, 40), media="takes")).path)
    video = [c for c in clips(tl.video_tracks()[0]) if c.metadata.get("cmx_3600", {}).get("reel") != "BL"]
    assert [c.name for c in video] == NAMES[:2]
    assert [c.source_range.duration.to_frames() for c in video] == [4, 10]
    assert video[0].source_range.start_time.to_frames() == 86400 + 20


def test_edl_linking_takes_names_dialogue_reels(project, out_dir):
    result = export_project(project, "edl", out_dir / "takes.edl", opts(media="takes"))
    events = [line.split() for line in result.path.read_text().splitlines() if re.match(r"^\d{3} ", line)]
    audio = [e for e in events if e[2] == "AA"]
    assert [e[1] for e in audio] == ["LINE0", "LINE1", "LINE2"]
    assert [e[4] for e in audio] == ["00:00:00:06"] * 3  # the dialogue starts 0.25 s into each recording
    assert [e[6] for e in audio] == ["01:00:00:00", "01:00:01:06", "01:00:02:00"]
    assert not (out_dir / "takes_media").exists()


def test_fcp7_xml_at_23_976_is_flagged_ntsc(tmp_path):
    project = build_project(tmp_path / "p", fps=23.976)
    result = export_project(project, "fcp7xml", tmp_path / "ntsc.xml", opts(media="takes"))
    seq = ElementTree.parse(result.path).getroot().find(".//sequence")
    assert (seq.find("./rate/timebase").text, seq.find("./rate/ntsc").text) == ("24", "TRUE")
    assert seq.find("./timecode/string").text == "01:00:00:00"
    tl = read(result.path)
    assert tl.global_start_time.to_frames() == 86400
    assert abs(tl.global_start_time.rate - 24000 / 1001) < 1e-6
