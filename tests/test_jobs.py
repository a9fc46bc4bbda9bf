"""JobSpec: JSON round trip, validation and a content hash that means 'same picture'."""

from __future__ import annotations

import pytest

from engine.jobs import JobSpec, JobSpecError, with_fingerprints
from engine.timebase import frames_to_timecode, timecode_to_frames


def job(tmp_path, **kw) -> JobSpec:
    base = dict(shot_id="s1", portrait_path=str(tmp_path / "p.png"), duration=2.0, fps=24, width=640, height=360,
                output_path=str(tmp_path / "t.mp4"), audio_path=str(tmp_path / "a.wav"), text="Hi", seed=3)
    base.update(kw)
    return JobSpec(**base)


def test_json_roundtrip(tmp_path):
    j = job(tmp_path, mouth_box=(0.4, 0.6, 0.2, 0.1), options={"steps": 4})
    again = JobSpec.from_json(j.to_json())
    assert again == j


def test_hash_ignores_bookkeeping_but_not_content(tmp_path):
    j = job(tmp_path)
    assert j.content_hash() == j.replace(job_id="x", output_path=str(tmp_path / "other.mp4"), priority=5).content_hash()
    for change in ({"seed": 4}, {"text": "Hello"}, {"audio_in": 0.1}, {"quality": "final"}, {"width": 320}):
        assert j.content_hash() != j.replace(**change).content_hash()


def test_hash_follows_media_content_not_location(tmp_path):
    (tmp_path / "p.png").write_bytes(b"portrait")
    (tmp_path / "a.wav").write_bytes(b"audio")
    a = with_fingerprints(job(tmp_path))
    moved = tmp_path / "moved"
    moved.mkdir()
    (moved / "p.png").write_bytes(b"portrait")
    (moved / "a.wav").write_bytes(b"audio")
    b = with_fingerprints(job(tmp_path, portrait_path=str(moved / "p.png"), audio_path=str(moved / "a.wav")))
    assert a.content_hash() == b.content_hash()
    (moved / "a.wav").write_bytes(b"new take of the line")
    c = with_fingerprints(job(tmp_path, portrait_path=str(moved / "p.png"), audio_path=str(moved / "a.wav")))
    assert c.content_hash() != a.content_hash()


@pytest.mark.parametrize("change", [{"fps": 60}, {"duration": 0}, {"width": 641}, {"portrait_path": "rel.png"},
                                    {"quality": "best"}, {"audio_in": 2.0, "audio_out": 1.0}])
def test_validation_names_the_problem(tmp_path, change):
    with pytest.raises(JobSpecError):
        job(tmp_path, **change).validate()


def test_frame_count_is_rounded_duration_times_fps(tmp_path):
    assert job(tmp_path, duration=2.0, fps=23.976).frame_count == 48
    assert job(tmp_path, duration=1.27, fps=25).frame_count == 32


@pytest.mark.parametrize(("frames", "fps", "tc"), [(0, 24, "00:00:00:00"), (86400, 24, "01:00:00:00"),
                                                   (1800, 29.97, "00:01:00;02"), (17982, 29.97, "00:10:00;00"),
                                                   (107892, 29.97, "01:00:00;00")])
def test_timecode(frames, fps, tc):
    assert frames_to_timecode(frames, fps) == tc
    assert timecode_to_frames(tc, fps) == frames
