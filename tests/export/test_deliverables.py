"""Movies and sound as a conform expects them, checked with Debian's ffprobe, not PyAV.

Codec, profile, pixel format, colour tags, vendor, timecode, reel, frame count and
audio length of every movie deliverable; broadcast-WAV timecode on the WAV.
"""

from __future__ import annotations

import struct

import pytest

from soul_studio.export import ExportOptions, export_project, export_shot_clips
from tests.export.builders import build_project, not_stale
from tests.export.conftest import decode_frames
from tests.export.helpers import classify
from tests.export.helpers_media import BT709_TV, colour_tags, ffprobe, video_stream

OP1A = "060e2b34.04010101.0d010201.01010900"
EXPECTED = [("A", i) for i in range(24)] + [("black", -1)] * 6 + [("B", i) for i in range(18)] + [("portrait", -1)] * 12


def opts(**kw) -> ExportOptions:
    return ExportOptions(stale_check=not_stale, **kw)


def timecode(info: dict) -> str:
    """The start timecode wherever the container keeps it (format tags, tmcd or video stream)."""
    tags = [info["format"].get("tags", {})] + [s.get("tags", {}) for s in info["streams"]]
    return next(t["timecode"] for t in tags if "timecode" in t)


def probe(path):
    info = ffprobe(path, "-count_frames", "-show_streams", "-show_format")
    video = video_stream(info)
    audio = [s for s in info["streams"] if s["codec_type"] == "audio"]
    return info, video, audio


def check_av(video: dict, audio: list[dict], frames: int, fps: float, pcm: bool) -> None:
    assert int(video["nb_read_frames"]) == frames
    assert audio and audio[0]["sample_rate"] == "48000" and audio[0]["channels"] == 2
    seconds = frames / fps
    # PCM is sample exact; AAC carries its priming, at most a frame's worth.
    assert abs(float(audio[0]["duration"]) - seconds) <= (1 / 48_000 if pcm else 1 / fps)


@pytest.mark.parametrize(("fmt", "profile", "tag", "pix_fmts"), [
    ("prores422hq", "HQ", "apch", ("yuv422p10le",)),
    ("prores422lt", "LT", "apcs", ("yuv422p10le",)),
    ("prores4444", "4444", "ap4h", ("yuva444p10le", "yuva444p12le")),  # FFmpeg decodes 4444 as 12-bit
])
def test_prores_is_apple_tagged_with_colr_vendor_and_timecode(project, out_dir, fmt, profile, tag, pix_fmts):
    result = export_project(project, fmt, out_dir / "cut.mov", opts())
    info, video, audio = probe(result.path)
    assert (video["codec_name"], video["profile"], video["codec_tag_string"]) == ("prores", profile, tag)
    assert video["pix_fmt"] in pix_fmts
    assert video["tags"]["vendor_id"] == "apl0"
    assert colour_tags(video) == BT709_TV
    assert timecode(info) == "01:00:00:00"
    assert audio[0]["codec_name"] == "pcm_s24le"
    check_av(video, audio, 60, 24, pcm=True)


def test_mp4_is_h264_high_bt709_with_timecode(project, out_dir):
    result = export_project(project, "mp4", out_dir / "cut.mp4", opts())
    info, video, audio = probe(result.path)
    assert (video["codec_name"], video["profile"], video["pix_fmt"]) == ("h264", "High", "yuv420p")
    assert colour_tags(video) == BT709_TV
    assert video["tags"]["timecode"] == "01:00:00:00"
    assert audio[0]["codec_name"] == "aac"
    check_av(video, audio, 60, 24, pcm=False)


@pytest.fixture(scope="module")
def hd_project(tmp_path_factory):
    """DNxHR needs at least 256×120 pixels; a 29.97 drop-frame project at 256×144."""
    return build_project(tmp_path_factory.mktemp("dnx") / "p", fps=29.97, width=256, height=144)


@pytest.mark.parametrize(("fmt", "profile", "pix_fmt", "container"), [
    ("dnxhr_hqx", "DNXHR HQX", "yuv422p10le", "mov"),
    ("dnxhr_lb", "DNXHR LB", "yuv422p", "mov"),
    ("dnxhr_hqx_mxf", "DNXHR HQX", "yuv422p10le", "mxf"),
    ("dnxhr_lb_mxf", "DNXHR LB", "yuv422p", "mxf"),
])
def test_dnxhr_for_avid_in_mov_and_mxf_op1a(hd_project, tmp_path, fmt, profile, pix_fmt, container):
    result = export_project(hd_project, fmt, tmp_path / "cut", opts())
    assert result.path.suffix == f".{container}"
    info, video, audio = probe(result.path)
    assert (video["codec_name"], video["profile"], video["pix_fmt"]) == ("dnxhd", profile, pix_fmt)
    assert colour_tags(video) == BT709_TV
    assert timecode(info) == "01:00:00;00"
    if container == "mxf":
        assert info["format"]["format_name"] == "mxf"
        assert info["format"]["tags"]["operational_pattern_ul"] == OP1A
    frames = sum(p.length for p in hd_project.placements()) + 8
    check_av(video, audio, frames, 30000 / 1001, pcm=True)
    got = [classify(f)[0] for f in decode_frames(result.path)]
    assert got.index("black") == hd_project.placements()[0].length


@pytest.mark.parametrize("codec", ["mp4", "prores422hq", "dnxhr_lb_mxf"])
def test_every_per_shot_clip_carries_its_reel_name_and_record_timecode(project, hd_project, out_dir, codec):
    from engine.timebase import frames_to_timecode
    from soul_studio.export.cut import reel_name

    source = hd_project if codec.startswith("dnxhr") else project  # DNxHR needs 256×120 or more
    result = export_shot_clips(source, out_dir / f"clips_{codec}", codec, opts())
    placements = source.placements()
    assert len(result.files) == 3
    for path, placement in zip(sorted(result.files), placements):
        info = ffprobe(path)
        # QuickTime keeps reel and timecode on its tmcd track; MXF names a tape source package.
        tags = next((s["tags"] for s in info["streams"] if s.get("codec_tag_string") == "tmcd"),
                    video_stream(info).get("tags", {}))
        assert tags["reel_name"] == reel_name(placement.shot, placement.index)
        start = 107892 if source is hd_project else 86400
        assert timecode(info) == frames_to_timecode(start + placement.start, source.fps)
        assert colour_tags(video_stream(info)) == BT709_TV


@pytest.mark.parametrize(("fps", "samples"), [(24.0, 3600 * 48_000), (23.976, 86400 * 48_000 * 1001 // 24_000)])
def test_png_sequence_wav_is_broadcast_wave_with_its_timecode(tmp_path, fps, samples):
    project = build_project(tmp_path / "p", fps=fps)
    result = export_project(project, "png", tmp_path / "frames", opts(frame_range=(0, 6)))
    wav = next(result.path.glob("*.wav"))
    data = wav.read_bytes()
    at = data.find(b"bext")
    assert 0 < at < 200, "no bext chunk before the audio"
    body = at + 8
    low, high = struct.unpack_from("<II", data, body + 338)
    assert low + (high << 32) == samples
    assert data[body + 256 : body + 288].rstrip(b"\0") == b"Soul Studio"
    info = ffprobe(wav)
    assert int(info["format"]["tags"]["time_reference"]) == samples
    stream = info["streams"][0]
    assert (stream["codec_name"], stream["sample_rate"], stream["channels"]) == ("pcm_s24le", "48000", 2)


def test_29_97_non_drop_frame_on_request_from_the_command_line(tmp_path):
    from soul_studio.export.command import main

    project = build_project(tmp_path / "p", fps=29.97)
    out = tmp_path / "ndf.mov"
    assert main(["export", str(project.path), "-f", "prores422lt", "-o", str(out), "--timecode", "ndf", "-q"]) == 0
    assert timecode(ffprobe(out)) == "01:00:00:00"
    edl = tmp_path / "ndf.edl"
    assert main(["export", str(project.path), "-f", "edl", "-o", str(edl), "--timecode", "ndf", "--media", "takes",
                 "-q"]) == 0
    assert "FCM: NON-DROP FRAME" in edl.read_text()
