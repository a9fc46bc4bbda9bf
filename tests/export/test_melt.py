"""An independent conform: Debian's ``melt`` (MLT) rebuilds the cut from the EDL and the XML.

The test reads each timeline file with its own small parser (pycmx for the EDL, lxml for
the XML), turns the events into a melt playlist of the linked media files, renders it
losslessly and checks every frame against what the timeline says: the cut is frame-exact
only if the record and source timecode, clip in/out and media links all agree.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pycmx
import pytest
from lxml import etree

from engine.timebase import fps_fraction, timecode_to_frames
from soul_studio.export import ExportOptions, export_project
from soul_studio.export.interchange import url_to_path
from tests.export.builders import HEIGHT, WIDTH, build_project, not_stale
from tests.export.conftest import decode_frames
from tests.export.helpers import classify
from tests.export.helpers_media import need


def profile(folder: Path, fps: float) -> Path:
    rate = fps_fraction(fps)
    path = folder / "profile"
    path.write_text(f"description=conform\nwidth={WIDTH}\nheight={HEIGHT}\nprogressive=1\nsample_aspect_num=1\n"
                    f"sample_aspect_den=1\ndisplay_aspect_num=16\ndisplay_aspect_den=9\n"
                    f"frame_rate_num={rate.numerator}\nframe_rate_den={rate.denominator}\ncolorspace=709\n")
    return path


def render(pieces: list[tuple[str, int, int]], folder: Path, fps: float) -> list:
    """``(source, first frame, frame count)`` pieces, black for source None, rendered by melt."""
    melt = need("melt")
    args = [melt, "-silent", "-profile", str(profile(folder, fps))]
    for source, first, count in pieces:
        if source is None:
            args += ["colour:black", "in=0", f"out={count - 1}"]
        else:
            args += [source, f"in={first}", f"out={first + count - 1}"]
    out = folder / "melt.mkv"
    args += ["-consumer", f"avformat:{out}", "vcodec=ffv1", "an=1"]
    subprocess.run(args, check=True, capture_output=True, timeout=120)
    return decode_frames(out)


def expected(project) -> list[tuple[str, int]]:
    """What each record frame must show: shot A/B frame by frame, black, shot C's portrait."""
    out: list[tuple[str, int]] = []
    cursor = 0
    for n, p in enumerate(project.placements()):
        out += [("black", -1)] * (p.start - cursor)
        out += [("A", i) for i in range(p.length)] if n == 0 else (
            [("B", i) for i in range(p.length)] if n == 1 else [("portrait", -1)] * p.length)
        cursor = p.end
    return out


def media_start(path: Path, fps: float) -> int:
    from engine.media import probe_video

    info = probe_video(path, count_frames=False)
    return timecode_to_frames(info.timecode, fps) if info.timecode else 0


@pytest.mark.parametrize("fps", [24.0, 29.97])
def test_melt_rebuilds_the_cut_from_the_edl_frame_exact(tmp_path, fps):
    project = build_project(tmp_path / "p", fps=fps)
    result = export_project(project, "edl", tmp_path / "cut.edl", ExportOptions(stale_check=not_stale, media_codec="mp4"))
    text = result.path.read_text(encoding="ascii")
    urls = {m.group(1): m.group(2) for m in re.finditer(r"^(\d{3}) .*\n(?:\*.*\n)*?\* FROM CLIP: (.+)$", text, re.M)}
    with result.path.open(encoding="ascii") as handle:
        edl = pycmx.parse_cmx3600(handle)
    pieces, record = [], None
    for event in edl.events:
        edit = event.edits[0]
        if not edit.channels.video:
            continue
        rec_in, rec_out = timecode_to_frames(edit.record_in, fps), timecode_to_frames(edit.record_out, fps)
        if record is not None:
            assert rec_in == record  # black events fill every gap: the picture track is continuous
        record = rec_out
        if edit.source == "BL":
            pieces.append((None, 0, rec_out - rec_in))
            continue
        media = url_to_path(urls[f"{event.number:03d}" if isinstance(event.number, int) else event.number],
                            result.path.parent)
        first = timecode_to_frames(edit.source_in, fps) - media_start(media, fps)
        pieces.append((str(media), first, rec_out - rec_in))
    got = [classify(f) for f in render(pieces, tmp_path, fps)]
    assert got == expected(project)


@pytest.mark.parametrize("fps", [23.976, 29.97])
def test_melt_rebuilds_the_cut_from_the_fcp7_xml_frame_exact(tmp_path, fps):
    project = build_project(tmp_path / "p", fps=fps)
    result = export_project(project, "fcp7xml", tmp_path / "cut.xml",
                            ExportOptions(stale_check=not_stale, media_codec="mp4"))
    root = etree.parse(str(result.path)).getroot()
    files = {f.get("id"): f.findtext("pathurl") for f in root.iter("file") if f.findtext("pathurl")}
    pieces, cursor = [], 0
    for item in root.findall("sequence/media/video/track/clipitem"):
        start, end = int(item.findtext("start")), int(item.findtext("end"))
        if start > cursor:
            pieces.append((None, 0, start - cursor))
        media = url_to_path(files[item.find("file").get("id")], result.path.parent)
        pieces.append((str(media), int(item.findtext("in")), end - start))
        assert int(item.findtext("out")) - int(item.findtext("in")) == end - start
        cursor = end
    got = [classify(f) for f in render(pieces, tmp_path, fps)]
    assert got == expected(project)
