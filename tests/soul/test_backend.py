"""SoulBackend: a JobSpec rendered on CPU with tiny weights into a playable take."""

from __future__ import annotations

import numpy as np
import pytest

from engine.backends import backend_class
from engine.backends.base import BackendUnavailable, CancelToken, JobCancelled, RenderContext
from engine.backends.soul.backend import SoulBackend
from engine.jobs import JobSpec
from engine.media import VideoWriter, load_audio, probe_video, read_frames


def _job(folder, portrait, audio, tmp_path, **options) -> JobSpec:
    opts = {"model_folder": str(folder), "allow_cpu": True, "render_size": [64, 64], "steps": 2,
            "guidance_text": 3.0, "guidance_audio": 2.0}
    opts.update(options)
    return JobSpec(
        shot_id="s1", portrait_path=str(portrait), duration=0.48, fps=25.0, width=96, height=80,
        output_path=str(tmp_path / "take.mp4"), audio_path=str(audio), audio_in=0.1, text="Hello there.",
        seed=5, quality="final", backend="soul", options=opts,
    ).validate()


class ListSink:
    def __init__(self) -> None:
        self.frames: list[np.ndarray] = []

    def write(self, frame: np.ndarray) -> None:
        self.frames.append(frame)


def test_registry_and_capabilities(trained_soul_folder, soul_copy):
    assert backend_class("soul") is SoulBackend
    caps = SoulBackend.capabilities()
    assert caps.name == "soul" and not caps.available
    assert "CUDA" in caps.reason and caps.extra["cuda"] is False
    ok = SoulBackend.capabilities({"model_folder": str(trained_soul_folder), "allow_cpu": True})
    assert ok.available and ok.extra["folder_ok"], ok.reason
    (soul_copy / "vae" / "config.json").unlink()
    bad = SoulBackend.capabilities({"model_folder": str(soul_copy), "allow_cpu": True})
    assert not bad.available and any("vae/config.json" in p for p in bad.extra["problems"])


def test_load_needs_gpu_unless_allowed(trained_soul_folder):
    with pytest.raises(BackendUnavailable, match="CUDA"):
        SoulBackend().load({"model_folder": str(trained_soul_folder)})
    with pytest.raises(BackendUnavailable, match="model folder"):
        SoulBackend().load({"allow_cpu": True})


def test_render_writes_playable_take(trained_soul_folder, make_portrait, make_audio, tmp_path):
    job = _job(trained_soul_folder, make_portrait(), make_audio(duration=1.0), tmp_path)
    assert job.frame_count == 12  # the model renders 13 (4k+1) and the backend trims
    backend = SoulBackend()
    backend.load(job.options)
    progress, previews = [], []
    ctx = RenderContext(on_progress=lambda p, eta: progress.append(p), on_preview=previews.append,
                        preview_interval_s=0.0)
    clip = load_audio(job.audio_path, 48_000, 1, start=job.audio_in, end=job.audio_in + job.duration)
    with VideoWriter(job.output_path, job.fps, job.width, job.height, audio=clip) as writer:
        meta = backend.render(job, writer, ctx)
    info = probe_video(job.output_path)
    assert info.frame_count == job.frame_count
    assert (info.width, info.height) == (96, 80)
    assert info.audio_codec == "aac"
    frames = np.stack(read_frames(job.output_path))
    assert frames.std() > 5  # a picture, not a flat fill
    assert meta["steps"] == 2 and meta["passes_per_step"] == 3 and meta["model_frames"] == 13
    assert meta["guidance_text"] == 3.0 and meta["guidance_audio"] == 2.0
    assert meta["device"] == "cpu" and meta["dtype"] == "float32" and len(meta["model_hash"]) == 64
    steps = [p.step for p in progress if p.message.startswith("sampling")]
    assert steps == [1, 2]
    assert progress[-1].fraction == pytest.approx(1.0)
    assert previews and all(p.dtype == np.uint8 and p.shape[2] == 3 for p in previews)
    # same job again: identical frames (seeded), model stays loaded
    pipe = backend.pipe
    sink = ListSink()
    backend.render(job, sink, RenderContext())
    assert backend.pipe is pipe and len(sink.frames) == 12
    again = sink.frames
    other = ListSink()
    backend.render(job.replace(seed=6), other, RenderContext())
    assert not all(np.array_equal(a, b) for a, b in zip(again, other.frames))
    backend.unload()
    assert backend.pipe is None


def test_cancel_stops_during_sampling(trained_soul_folder, make_portrait, make_audio, tmp_path):
    job = _job(trained_soul_folder, make_portrait(), make_audio(duration=1.0), tmp_path, steps=4)
    token = CancelToken()

    def on_progress(p, eta):
        if p.step == 2:
            token.cancel("newer draft")

    sink = ListSink()
    with pytest.raises(JobCancelled, match="newer draft"):
        SoulBackend().render(job, sink, RenderContext(cancel=token, on_progress=on_progress))
    assert sink.frames == []


def test_render_without_audio(trained_soul_folder, make_portrait, tmp_path):
    job = _job(trained_soul_folder, make_portrait(), tmp_path / "x.wav", tmp_path).replace(audio_path=None)
    sink = ListSink()
    meta = SoulBackend().render(job, sink, RenderContext())
    assert meta["audio"] is False and meta["passes_per_step"] == 2 and len(sink.frames) == 12
    assert sink.frames[0].shape == (80, 96, 3)


def test_shot_longer_than_one_pass_is_generated_in_chunks(trained_soul_folder, make_portrait, make_audio, tmp_path):
    job = _job(trained_soul_folder, make_portrait(), make_audio(duration=1.0), tmp_path, max_frames=13)
    job = job.replace(duration=0.8)
    sink = ListSink()
    meta = SoulBackend().render(job, sink, RenderContext())
    assert len(sink.frames) == job.frame_count == 20
    assert sink.frames[-1].shape == (80, 96, 3)
    assert meta["longform"]["chunks"] >= 2
    assert meta["preset"]["chunk_frames"] == 13 and meta["preset"]["steps"] == 2
