"""Conformed movies: decode what was encoded and check format, timecode, cuts and sound."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from engine.media import probe_video
from soul_studio.export import ExportOptions, export_project
from tests.export.builders import build_project, not_stale
from tests.export.conftest import decode_audio, decode_frames
from tests.export.helpers import classify, dominant_hz, rms

# 24 fps layout of the builder's project.
EXPECTED = [("A", i) for i in range(24)] + [("black", -1)] * 6 + [("B", i) for i in range(18)] + [("portrait", -1)] * 12


def opts(**kw) -> ExportOptions:
    return ExportOptions(stale_check=not_stale, **kw)


def test_mp4_is_h264_high_with_exact_cuts_and_placed_dialogue(project, out_dir):
    result = export_project(project, "mp4", out_dir / "scene.mp4", opts())
    info = probe_video(result.path)
    assert (info.codec, info.pix_fmt, info.profile) == ("h264", "yuv420p", "High")
    assert info.fps == Fraction(24) and info.frame_count == 60
    assert info.timecode == "01:00:00:00"
    assert (info.audio_codec, info.audio_rate, info.audio_channels) == ("aac", 48_000, 2)
    assert abs(info.audio_duration - info.frame_count / 24) < 1 / 24
    with av.open(str(result.path)) as c:  # faststart: the index comes before the media data
        assert c.format.name.startswith("mov")
    head = result.path.read_bytes()[:4096]
    assert head.find(b"moov") != -1 and (head.find(b"mdat") == -1 or head.find(b"moov") < head.find(b"mdat"))

    assert [classify(f) for f in decode_frames(result.path)] == EXPECTED

    audio = decode_audio(result.path)
    at = lambda a, b: audio[:, int(a * 48_000) : int(b * 48_000)]  # noqa: E731
    assert dominant_hz(at(0.05, 0.95)) == pytest.approx(440, abs=3)
    assert rms(at(1.03, 1.22)) < 1e-3  # the gap is silent
    assert dominant_hz(at(1.3, 1.95)) == pytest.approx(660, abs=3)
    assert dominant_hz(at(2.05, 2.45)) == pytest.approx(880, abs=3)
    assert abs(audio.shape[1] / 48_000 - 2.5) < 1 / 24


@pytest.mark.parametrize(
    ("fmt", "profile", "pix_fmt"),
    [("prores422hq", "HQ", "yuv422p10le"), ("prores422lt", "LT", "yuv422p10le"), ("prores4444", "4444", "yuva444p10le")],
)
def test_prores_variants_are_10_bit_with_pcm_24(project, out_dir, fmt, profile, pix_fmt):
    result = export_project(project, fmt, out_dir / "scene", opts())
    assert result.path.suffix == ".mov"
    info = probe_video(result.path)
    assert (info.codec, info.profile) == ("prores", profile)
    # FFmpeg's decoder hands out ProRes 4444 as 12-bit whatever the encoder was fed.
    assert info.pix_fmt in (pix_fmt, pix_fmt.replace("10le", "12le"))
    assert (info.audio_codec, info.audio_rate, info.audio_channels) == ("pcm_s24le", 48_000, 2)
    assert info.frame_count == 60 and info.timecode == "01:00:00:00"
    assert [classify(f) for f in decode_frames(result.path)] == EXPECTED
    if fmt == "prores422hq":
        # PCM keeps sample-exact placement: the first shot's line ends exactly where its picture does.
        audio = decode_audio(result.path)
        assert rms(audio[:, 48_000 - 480 : 48_000]) > 0.1
        assert np.abs(audio[:, 48_000 + 2 : 60_000 - 2]).max() < 1e-4


@pytest.mark.parametrize(("fps", "rate", "timecode", "gap"), [(29.97, Fraction(30000, 1001), "01:00:00;00", 8),
                                                              (23.976, Fraction(24000, 1001), "01:00:00:00", 6)])
def test_ntsc_rates_and_drop_frame_timecode(tmp_path, fps, rate, timecode, gap):
    project = build_project(tmp_path / "p", fps=fps)
    frames = [p.end - p.start for p in project.placements()]
    result = export_project(project, "mp4", tmp_path / "ntsc.mp4", opts())
    info = probe_video(result.path)
    assert info.fps == rate
    assert info.timecode == timecode
    assert info.frame_count == sum(frames) + gap == result.frames
    assert abs(info.audio_duration - info.frame_count / float(rate)) < 1 / float(rate)
    decoded = [classify(f)[0] for f in decode_frames(result.path)]
    assert decoded.index("black") == frames[0] and decoded.index("B") == frames[0] + gap


def test_range_export_starts_at_its_record_timecode(project, out_dir):
    result = export_project(project, "mp4", out_dir / "range.mp4", opts(frame_range=(20, 40)))
    info = probe_video(result.path)
    assert info.frame_count == 20 and info.timecode == "01:00:00:20"
    assert [classify(f) for f in decode_frames(result.path)] == EXPECTED[20:40]
    assert abs(info.audio_duration - 20 / 24) < 1 / 24


def test_selection_lays_shots_back_to_back(project, out_dir):
    result = export_project(project, "mp4", out_dir / "sel.mp4", opts(shots=["Ben answers", "Ana asks"]))
    got = [classify(f) for f in decode_frames(result.path)]
    assert got == [("A", i) for i in range(24)] + [("B", i) for i in range(18)]
    audio = decode_audio(result.path)
    assert dominant_hz(audio[:, int(1.05 * 48_000) : int(1.7 * 48_000)]) == pytest.approx(660, abs=3)


def test_missing_take_as_slate_and_burn_in(project, out_dir):
    plain = decode_frames(export_project(project, "prores422hq", out_dir / "plain.mov", opts()).path)
    slate = decode_frames(export_project(project, "prores422hq", out_dir / "slate.mov",
                                         opts(missing="slate", burn_in=True)).path)
    # Shot C: dark card with light lettering instead of the portrait.
    card = slate[54]
    assert classify(card)[0] != "portrait"
    assert np.median(card) < 40 and (card > 200).mean() > 0.005
    # Burn-in: text drawn top left and bottom centre; the middle of the picture is untouched.
    diff = np.abs(slate[5].astype(int) - plain[5].astype(int)).max(axis=2)
    h, w = diff.shape
    assert diff[: h // 4, : w // 2].max() > 100 and diff[3 * h // 4 :, w // 4 : 3 * w // 4].max() > 100
    assert diff[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3].max() < 8


def test_png_sequence_numbered_by_timecode_with_wav(project, out_dir):
    result = export_project(project, "png", out_dir / "frames", opts())
    pngs = sorted(result.path.glob("*.png"))
    assert len(pngs) == 60
    assert pngs[0].name == "frames.0086400.png" and pngs[-1].name == "frames.0086459.png"
    from engine.media import load_portrait, probe_audio

    assert classify(load_portrait(result.path / "frames.0086430.png")) == ("B", 0)
    assert classify(load_portrait(result.path / "frames.0086429.png")) == ("black", -1)
    wav = probe_audio(result.path / "frames.wav")
    assert (wav.sample_rate, wav.channels, wav.codec) == (48_000, 2, "pcm_s24le")
    assert abs(wav.duration - 2.5) < 1 / 48_000 * 2
    assert not [p for p in out_dir.iterdir() if p.name.startswith(".") and not p.name.endswith(".soul-export.json")]
