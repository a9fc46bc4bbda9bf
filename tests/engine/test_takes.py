"""write_take on its own: the movie, its sidecar, and what happens when things go wrong."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from engine.backends.base import BackendError, CancelToken, JobCancelled, RenderContext
from engine.backends.testing import TestBackend, decode_frame_index
from engine.media import MediaError, VideoWriter, load_audio, probe_video, read_frames
from engine.takes import TAG_PREFIX, discard_partials, write_take


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


def test_take_holds_every_frame_in_order_with_the_dialogue_range(make_job, takes, media):
    job = make_job("shot", options={"steps": 2, "chunks": 3})
    result = write_take(TestBackend(), job, RenderContext())
    assert _files(takes) == ["shot.json", "shot.mp4"]
    info = probe_video(result.take_path)
    assert info.frame_count == job.frame_count == 25
    assert (info.width, info.height) == (64, 48)
    assert info.audio_codec == "aac" and info.audio_duration == pytest.approx(1.0, abs=0.05)
    frames = read_frames(result.take_path)
    assert [decode_frame_index(f) for f in frames] == list(range(25))

    # audio_in=0.2..1.2 of the line: a burst from 0.2 to 0.9, then silence until 1.2.
    sound = load_audio(result.take_path, 48_000, 1).mono()
    loud = np.sqrt(np.mean(sound[int(0.1 * 48_000) : int(0.6 * 48_000)] ** 2))
    quiet = np.sqrt(np.mean(sound[int(0.75 * 48_000) : int(0.95 * 48_000)] ** 2))
    assert loud > 0.05 and quiet < loud / 20

    sidecar = json.loads((takes / "shot.json").read_text())
    assert sidecar["job"] == job.to_dict()
    assert sidecar["content_hash"] == job.content_hash()
    assert sidecar["frame_count"] == 25 and sidecar["seed"] == job.seed and sidecar["backend"] == "test"
    assert sidecar["metadata"] == {"steps": 2, "chunks": 3, "device": "cpu", "frames": 25}
    assert sidecar["versions"]["engine"] and sidecar["versions"]["av"]
    assert sidecar["timings"]["total_s"] >= sidecar["timings"]["render_s"] >= 0
    assert sidecar["audio"]["silent"] is False and sidecar["codec"] == "h264_take"
    assert info.metadata.get("comment") == TAG_PREFIX + job.job_id


def test_no_audio_gives_a_silent_track_of_the_shot_length(make_job, takes):
    job = make_job("mute", "draft", audio_path=None, audio_in=0.0, audio_out=None, duration=0.6)
    result = write_take(TestBackend(), job, RenderContext())
    info = probe_video(result.take_path)
    assert info.frame_count == 15 and info.audio_duration == pytest.approx(0.6, abs=0.05)
    assert load_audio(result.take_path).is_silent()
    assert json.loads((takes / "mute.json").read_text())["codec"] == "h264_draft"


def test_cancel_leaves_no_file(make_job, takes):
    job = make_job("slow", options={"steps": 200, "step_delay": 0.01})
    token = CancelToken()
    steps = []

    def progress(report, eta):
        steps.append(report.step)
        if len(steps) == 3:
            token.cancel("cancelled")

    with pytest.raises(JobCancelled):
        write_take(TestBackend(), job, RenderContext(cancel=token, on_progress=progress))
    assert len(steps) == 3
    assert _files(takes) == []


@pytest.mark.parametrize("delta", [-3, 2])
def test_wrong_frame_count_fails_and_leaves_no_file(make_job, takes, delta):
    job = make_job("bad", options={"frame_count_delta": delta})
    with pytest.raises(BackendError, match="frames"):
        write_take(TestBackend(), job, RenderContext())
    assert _files(takes) == []


def test_backend_error_keeps_its_hint_and_leaves_no_file(make_job, takes):
    job = make_job("boom", options={"fail": "GPU fell over", "hint": "try again", "fail_at_step": 1})
    with pytest.raises(BackendError) as info:
        write_take(TestBackend(), job, RenderContext())
    assert str(info.value) == "GPU fell over" and info.value.hint == "try again"
    assert _files(takes) == []


def test_missing_portrait_is_a_media_error(make_job, takes, tmp_path):
    job = make_job("gone", portrait_path=str(tmp_path / "nobody.png"))
    with pytest.raises(MediaError, match="portrait"):
        write_take(TestBackend(), job, RenderContext())
    assert _files(takes) == []


def test_codec_must_fit_the_take_name(make_job):
    with pytest.raises(BackendError, match="codec") as info:
        write_take(TestBackend(), make_job("pr", options={"codec": "prores422hq"}), RenderContext())
    assert ".mov" in info.value.hint


def test_rerun_of_a_finished_job_reuses_the_take(make_job, takes):
    job = make_job("again")
    first = write_take(TestBackend(), job, RenderContext())
    before = (takes / "again.mp4").stat().st_mtime_ns
    second = write_take(TestBackend(), job, RenderContext())
    assert second.reused and not first.reused
    assert second.take_path == first.take_path and (takes / "again.mp4").stat().st_mtime_ns == before
    assert _files(takes) == ["again.json", "again.mp4"]


def test_take_of_another_job_is_never_overwritten(make_job, takes):
    write_take(TestBackend(), make_job("mine"), RenderContext())
    other = make_job("mine", seed=7)
    with pytest.raises(MediaError, match="already exists"):
        write_take(TestBackend(), other, RenderContext())


def test_orphaned_take_of_the_same_job_is_rendered_again(make_job, takes):
    job = make_job("orphan")
    write_take(TestBackend(), job, RenderContext())
    (takes / "orphan.json").unlink()  # died between the movie's rename and the sidecar
    result = write_take(TestBackend(), job, RenderContext())
    assert not result.reused
    assert _files(takes) == ["orphan.json", "orphan.mp4"]
    assert probe_video(result.take_path).frame_count == job.frame_count


def test_partials_left_by_a_killed_writer_are_discarded(make_job, takes):
    job = make_job("killed")
    writer = VideoWriter(takes / "killed.mp4", 25, 64, 48)
    writer.write(np.zeros((48, 64, 3), np.uint8))  # never closed, as after kill -9
    (takes / ".killed.v2.abcd1234.partial.mp4").write_bytes(b"not ours")  # another take's name
    leftovers = [p.name for p in takes.iterdir() if p.name.startswith(".killed.")]
    assert any(".partial" in n for n in leftovers)
    removed = discard_partials(job.output_path)
    assert len(removed) == 1 and removed[0].name in leftovers
    result = write_take(TestBackend(), job, RenderContext())
    assert probe_video(result.take_path).frame_count == 25
    assert _files(takes) == [".killed.v2.abcd1234.partial.mp4", "killed.json", "killed.mp4"]


def test_cancel_from_another_thread_stops_within_a_step(make_job, takes):
    job = make_job("threaded", options={"steps": 10_000, "step_delay": 0.005})
    token = CancelToken()
    steps = []
    started = threading.Event()

    def progress(report, eta):
        steps.append(report.step)
        started.set()

    def cancel_soon():
        started.wait(30)
        token.cancel("cancelled")

    t = threading.Thread(target=cancel_soon)
    t.start()
    with pytest.raises(JobCancelled):
        write_take(TestBackend(), job, RenderContext(cancel=token, on_progress=progress))
    t.join()
    assert len(steps) < 10_000
    assert _files(takes) == []
