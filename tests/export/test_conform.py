"""Every timeline format at every supported rate, with names an editor's file must survive.

Each file is read back two ways: by OpenTimelineIO's adapter for the format (what
Resolve's and many pipelines' importers are built on) and as plain XML/text against
the rules each NLE documents, so a file that OTIO forgives but Final Cut, Premiere or
Avid would not is still caught.
"""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest
from lxml import etree

from engine.timebase import fps_fraction, frames_to_timecode
from soul_studio.export import ExportOptions, export_project
from soul_studio.export.interchange import url_to_path
from soul_studio.export.names import ascii_name
from tests.export.builders import NASTY_NAMES, build_project, not_stale

DTD = Path(__file__).parent / "data" / "FCPXMLv1_8.dtd"

# (project fps, drop-frame timecode) with the frame count of 01:00:00:00 in that timecode.
RATES = {
    "23.976": (23.976, None, 86400),
    "24": (24.0, None, 86400),
    "25": (25.0, None, 90000),
    "29.97DF": (29.97, True, 107892),
    "29.97NDF": (29.97, False, 108000),
    "30": (30.0, None, 108000),
}
FORMATS = ["otio", "fcp7xml", "fcpxml", "edl"]
SUFFIX = {"otio": ".otio", "fcp7xml": ".xml", "fcpxml": ".fcpxml", "edl": ".edl"}


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory):
    cache: dict[float, object] = {}

    def get(fps: float):
        if fps not in cache:
            folder = tmp_path_factory.mktemp(f"nasty{fps}")
            cache[fps] = build_project(folder / "p", fps=fps, names=NASTY_NAMES, characters=("Zoë", "O'Neil & Co"),
                                       gap_marker=True)
        return cache[fps]

    return get


def opts(**kw) -> ExportOptions:
    return ExportOptions(stale_check=not_stale, **kw)


def layout(project) -> tuple[list[int], list[int], dict[str, int]]:
    """Record starts and lengths of the shots, and the record frame of each marker."""
    placements = project.placements()
    markers = {m.name: m.frame for m in project.timeline.markers}
    return [p.start for p in placements], [p.length for p in placements], markers


def read_back(path: Path, fps: float) -> otio.schema.Timeline:
    kw = {"rate": float(fps_fraction(fps))} if path.suffix == ".edl" else {}
    if path.suffix == ".edl" and abs(fps - 29.97) < 0.01:
        kw["ignore_timecode_mismatch"] = True
    tl = otio.adapters.read_from_file(str(path), **kw)
    if not isinstance(tl, otio.schema.Timeline):
        tl = next(iter(tl.find_children(descended_from_type=otio.schema.Timeline)))
    return tl


@pytest.mark.parametrize("rate_id", list(RATES))
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_at_every_rate_reads_back_frame_exact(projects, tmp_path, fmt, rate_id):
    fps, drop, tc_frames = RATES[rate_id]
    project = projects(fps)
    result = export_project(project, fmt, tmp_path / f"cut{SUFFIX[fmt]}", opts(media="takes", drop_frame=drop))
    starts, lengths, _ = layout(project)
    rate = fps_fraction(fps)
    if fmt == "fcpxml":
        doc = etree.parse(str(result.path))
        dtd = etree.DTD(str(DTD))
        assert dtd.validate(doc), dtd.error_log.filter_from_errors()
        check_fcpxml_timing(doc.getroot(), fps, tc_frames, project)
        if rate.denominator != 1:
            return  # OTIO's FCPXML reader rounds 24000/1001 down to 23 fps, its own bug
    tl = read_back(result.path, fps)
    origin = 0  # OTIO's CMX reader counts from the first record frame, its FCPXML reader from 0 s
    if fmt in ("otio", "fcp7xml"):
        assert tl.global_start_time.to_frames() == tc_frames
        assert abs(tl.global_start_time.rate - float(rate)) < 1e-9
    elif fmt == "fcpxml":
        origin = tc_frames
    video = [c for c in tl.video_tracks()[0] if isinstance(c, otio.schema.Clip)
             and c.metadata.get("cmx_3600", {}).get("reel") != "BL"]  # black events are gaps
    want = [ascii_name(n) for n in NASTY_NAMES] if fmt == "edl" else list(NASTY_NAMES)
    assert [c.name for c in video] == want
    for clip, start, length in zip(video, starts, lengths):
        placed = clip.range_in_parent()
        assert abs(placed.start_time.rate - float(rate)) < 1e-9
        assert placed.start_time.to_frames() - origin == start
        assert clip.source_range.duration.to_frames() == length


@pytest.mark.parametrize("rate_id", ["23.976", "29.97DF"])
def test_fcpxml_validates_against_its_dtd_and_follows_apples_timing_rules(projects, tmp_path, rate_id):
    fps, drop, tc_frames = RATES[rate_id]
    project = projects(fps)
    for media in ("takes", "export"):
        result = export_project(project, "fcpxml", tmp_path / f"{media}.fcpxml",
                                opts(media=media, media_codec="mp4", drop_frame=drop))
        doc = etree.parse(str(result.path))
        root = doc.getroot()
        dtd = etree.DTD(str(DTD))
        assert root.get("version") == "1.8" and dtd.validate(doc), dtd.error_log.filter_from_errors()
        check_fcpxml_timing(root, fps, tc_frames, project)


def parse_time(text: str | None) -> Fraction:
    if not text:
        return Fraction(0)
    assert text.endswith("s"), text
    return Fraction(text[:-1])


def check_fcpxml_timing(root, fps: float, tc_frames: int, project) -> None:
    """Apple's rules: every time on a frame boundary of its timebase; each clip's
    ``start``…``start + duration`` inside its asset's media; connected clips and markers
    in their parent's local time, inside the parent's visible range."""
    frame = 1 / fps_fraction(fps)
    assets = {a.get("id"): a for a in root.iter("asset")}
    seq = root.find(".//sequence")
    assert parse_time(seq.get("tcStart")) == tc_frames * frame
    assert seq.get("tcFormat") == ("DF" if tc_frames == 107892 else "NDF")
    assert seq.get("audioRate") == "48k" and seq.get("audioLayout") == "stereo"
    fmt = root.find(f".//format[@id='{seq.get('format')}']")
    assert parse_time(fmt.get("frameDuration")) == frame
    assert fmt.get("colorSpace") == "1-1-1 (Rec. 709)"
    for element in root.iter():
        for key in ("offset", "start", "duration", "tcStart"):
            value = element.get(key)
            if value is not None:
                assert (parse_time(value) / frame).denominator == 1, (element.tag, key, value)
    spine = seq.find("spine")
    cursor = parse_time(seq.get("tcStart"))
    starts, lengths, markers = layout(project)
    names = []
    for item in spine:
        assert parse_time(item.get("offset")) == cursor
        cursor += parse_time(item.get("duration"))
        if item.tag == "asset-clip":
            names.append(item.get("name"))
            check_inside_asset(item, assets)
            assert item.get("audioRole", "dialogue").startswith("dialogue")
        local = parse_time(item.get("start")), parse_time(item.get("start")) + parse_time(item.get("duration"))
        for child in item:
            if child.tag == "asset-clip":  # connected dialogue
                assert child.get("lane") == "-1"
                assert local[0] <= parse_time(child.get("offset")) < local[1]
                assert child.get("audioRole").startswith("dialogue")
                check_inside_asset(child, assets)
            if child.tag == "marker":
                assert local[0] <= parse_time(child.get("start")) < local[1]
    assert names == list(NASTY_NAMES)[: len(names)]
    assert cursor == (tc_frames + starts[-1] + lengths[-1]) * frame
    values = {m.get("value"): m for m in spine.iter("marker")}
    assert set(values) == set(markers)
    for name, at in markers.items():  # every marker, the one in the gap too, at its record frame
        marker = values[name]
        parent = marker.getparent()
        record = parse_time(parent.get("offset")) + parse_time(marker.get("start")) - parse_time(parent.get("start"))
        assert record == (tc_frames + at) * frame


def check_inside_asset(clip, assets) -> None:
    asset = assets[clip.get("ref")]
    if parse_time(asset.get("duration")) == 0:  # a still: no media time of its own
        return
    a0, a1 = parse_time(asset.get("start")), parse_time(asset.get("start")) + parse_time(asset.get("duration"))
    c0 = parse_time(clip.get("start"))
    c1 = c0 + parse_time(clip.get("duration"))
    assert a0 <= c0 < c1 <= a1, (clip.get("name"), a0, c0, c1, a1)


@pytest.mark.parametrize("rate_id", ["29.97DF", "23.976"])
def test_fcp7_xml_is_a_linked_av_sequence_for_premiere_and_resolve(projects, tmp_path, rate_id):
    fps, drop, tc_frames = RATES[rate_id]
    project = projects(fps)
    result = export_project(project, "fcp7xml", tmp_path / "cut.xml", opts(media_codec="mp4", drop_frame=drop))
    root = etree.parse(str(result.path)).getroot()
    seq = root.find("sequence")
    tc = seq.find("timecode")
    assert tc.find("string").text == frames_to_timecode(tc_frames, fps, drop_frame=bool(drop))
    assert tc.find("string").text == ("01:00:00;00" if drop else "01:00:00:00")
    assert tc.find("displayformat").text == ("DF" if drop else "NDF")
    assert int(tc.find("frame").text) == tc_frames
    assert (seq.find("rate/timebase").text, seq.find("rate/ntsc").text) == (str(round(fps)), "TRUE")
    chars = seq.find("media/video/format/samplecharacteristics")
    assert (chars.find("width").text, chars.find("height").text) == (str(project.width), str(project.height))
    audio_chars = seq.find("media/audio/format/samplecharacteristics")
    assert (audio_chars.find("samplerate").text, audio_chars.find("depth").text) == ("48000", "24")
    items = {i.get("id"): i for i in seq.iter("clipitem")}
    video = seq.findall("media/video/track/clipitem")
    audio_tracks = seq.findall("media/audio/track")
    assert len(video) == 3 and len(audio_tracks) == 2  # stereo: a clip item per channel
    starts, lengths, markers = layout(project)
    for n, item in enumerate(video):
        assert item.find("name").text == NASTY_NAMES[n]
        assert (int(item.find("start").text), int(item.find("end").text)) == (starts[n], starts[n] + lengths[n])
        linked = [(lk.find("linkclipref").text, lk.find("mediatype").text) for lk in item.findall("link")]
        assert linked[0] == (item.get("id"), "video") and [m for _, m in linked] == ["video", "audio", "audio"]
        for ref, _ in linked[1:]:  # every partner is a real audio clip item that links back
            partner = items[ref]
            assert partner.getparent().getparent().tag == "audio"
            assert [lk.find("linkclipref").text for lk in partner.findall("link")] == [r for r, _ in linked]
            assert (partner.find("start").text, partner.find("end").text) == (item.find("start").text,
                                                                             item.find("end").text)
            assert partner.find("sourcetrack/mediatype").text == "audio"
    for url in (e.text for e in root.iter("pathurl")):
        assert url_to_path(url, result.path.parent).is_file()
    seq_markers = {m.find("name").text: int(m.find("in").text) for m in seq.findall("marker")}
    assert seq_markers == markers  # sequence time, the one in the gap included
    tl = read_back(result.path, fps)
    assert tl.global_start_time.to_frames() == tc_frames
    assert len(tl.audio_tracks()) == 2


@pytest.mark.parametrize("rate_id", ["29.97DF", "24"])
def test_edl_markers_in_record_timecode_and_ascii_only(projects, tmp_path, rate_id):
    fps, drop, tc_frames = RATES[rate_id]
    project = projects(fps)
    result = export_project(project, "edl", tmp_path / "cut.edl", opts(media="takes", drop_frame=drop))
    raw = result.path.read_bytes()
    assert all(b < 128 for b in raw), "CMX 3600 is 7-bit ASCII"
    text = raw.decode("ascii")
    _, _, markers = layout(project)
    locs = re.findall(r"^\* LOC: (\S+) \w+\s+(.+)$", text, flags=re.M)
    assert sorted(locs) == sorted((frames_to_timecode(tc_frames + f, fps, drop_frame=bool(drop)), name)
                                  for name, f in markers.items())
    assert f"* FROM CLIP NAME: {ascii_name(NASTY_NAMES[2])}" in text
    import pycmx

    with result.path.open(encoding="ascii") as handle:  # an independent CMX 3600 parser
        edl = pycmx.parse_cmx3600(handle)
    starts, lengths, _ = layout(project)
    tc = lambda f: frames_to_timecode(tc_frames + f, fps, drop_frame=bool(drop))  # noqa: E731
    video = [e.edits[0] for e in edl.events if e.edits[0].channels.video and e.edits[0].source != "BL"]
    assert [(e.record_in, e.record_out) for e in video] == [(tc(s), tc(s + n)) for s, n in zip(starts, lengths)]
    assert [e.clip_name for e in video] == [ascii_name(n) for n in NASTY_NAMES]
