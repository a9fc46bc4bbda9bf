"""Movies encoded, decoded back and compared: frames, duration, audio, codecs, timecode."""

from __future__ import annotations

import numpy as np
import pytest

from engine.media import AudioClip, MediaError, VideoWriter, load_audio, probe_video, read_frame_at, read_frames
from tests.conftest import tone_bursts


def _frames(n: int, w: int = 96, h: int = 64):
    for i in range(n):
        frame = np.zeros((h, w, 3), np.uint8)
        frame[..., 0] = (i * 7) % 256
        frame[..., 1] = 128
        frame[: h // 2, : w // 2, 2] = 255
        yield frame


@pytest.mark.parametrize(
    ("codec", "fps", "vcodec", "pix_fmt", "acodec"),
    [
        ("h264", 23.976, "h264", "yuv420p", "aac"),
        ("h264", 25.0, "h264", "yuv420p", "aac"),
        ("prores422hq", 24.0, "prores", "yuv422p10le", "pcm_s24le"),
        ("prores4444", 29.97, "prores", "yuva444p", "pcm_s24le"),
    ],
)
def test_roundtrip(tmp_path, codec, fps, vcodec, pix_fmt, acodec):
    n = 50
    audio = AudioClip(tone_bursts(n / fps, 48_000, [(0.2, 1.0)]), 48_000)
    path = tmp_path / f"take{'.mp4' if codec == 'h264' else '.mov'}"
    with VideoWriter(path, fps, 96, 64, codec=codec, audio=audio, start_timecode="01:00:00:00") as writer:
        for frame in _frames(n):
            writer.write(frame)
    info = probe_video(path)
    assert info.codec == vcodec
    assert info.pix_fmt.startswith(pix_fmt)
    assert info.frame_count == n
    assert abs(float(info.fps) - fps) < 0.01
    assert info.timecode in ("01:00:00:00", "01:00:00;00")
    assert info.audio_codec == acodec and info.audio_rate == 48_000
    assert abs(info.audio_duration - info.duration) <= 1.0 / fps
    frames = read_frames(path)
    assert len(frames) == n
    assert abs(int(frames[20][40, 80, 0]) - (20 * 7) % 256) <= 6
    assert frames[20][5, 5, 2] > 200 and frames[20][60, 90, 2] < 40
    decoded = load_audio(path, 48_000, 1)
    assert abs(decoded.slice(0.3, 0.9).rms_dbfs() - audio.slice(0.3, 0.9).rms_dbfs()) < 1.5
    assert decoded.slice(1.3, 1.9).is_silent(-50)


def test_profile_of_h264_is_high(tmp_path):
    path = tmp_path / "take.mp4"
    with VideoWriter(path, 24, 64, 64) as writer:
        for frame in _frames(5, 64, 64):
            writer.write(frame)
    assert probe_video(path).profile == "High"


def test_random_access_frame(tmp_path):
    path = tmp_path / "take.mp4"
    with VideoWriter(path, 24, 96, 64) as writer:
        for frame in _frames(40):
            writer.write(frame)
    frame = read_frame_at(path, 33)
    assert abs(int(frame[40, 80, 0]) - 33 * 7) <= 6


def test_failed_write_leaves_nothing(tmp_path):
    path = tmp_path / "take.mp4"
    with pytest.raises(RuntimeError):
        with VideoWriter(path, 24, 96, 64) as writer:
            for i, frame in enumerate(_frames(10)):
                writer.write(frame)
                if i == 5:
                    raise RuntimeError("render crashed")
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_existing_file_is_never_overwritten_silently(tmp_path):
    path = tmp_path / "take.mp4"
    path.write_bytes(b"keep me")
    with pytest.raises(MediaError):
        VideoWriter(path, 24, 96, 64)
    assert path.read_bytes() == b"keep me"


def test_full_disk_gives_clear_error(tmp_path, monkeypatch):
    import os

    path = tmp_path / "take.mp4"
    real_replace = os.replace

    def no_space(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_space)
    writer = VideoWriter(path, 24, 96, 64)
    for frame in _frames(3):
        writer.write(frame)
    with pytest.raises(MediaError) as info:
        writer.close()
    monkeypatch.setattr(os, "replace", real_replace)
    assert "No space left" in str(info.value) and "free disk space" in str(info.value)
    assert not path.exists() and list(tmp_path.iterdir()) == []
