"""Renders through the sketch backend into real video files, decoded back and measured."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from sketch_helpers import DURATION, LOUD, SIZE, ListSink, make_job

from engine.backends import backend_class
from engine.backends.base import CancelToken, JobCancelled, RenderContext
from engine.backends.sketch.backend import SketchBackend
from engine.backends.sketch.face import FaceNotFoundError, analyse_portrait
from engine.jobs import JobSpec
from engine.media import VideoWriter, load_portrait, probe_video, read_frames


def render_file(job, ctx=None):
    with VideoWriter(job.output_path, job.fps, job.width, job.height) as sink:
        meta = SketchBackend().render(job, sink, ctx or RenderContext())
    return meta


def test_registry_points_here():
    cls = backend_class("sketch")
    assert cls is SketchBackend and cls.name == "sketch"
    assert cls.capabilities().available


def test_mouth_moves_with_speech_and_rests_in_silence(media, tmp_path):
    job = make_job(media, tmp_path / "take.mp4")
    progress, previews = [], []
    ctx = RenderContext(on_progress=lambda p, eta: progress.append(p), on_preview=previews.append,
                        preview_interval_s=0.0)
    meta = render_file(job, ctx)
    frames = np.stack(read_frames(job.output_path)).astype(np.int16)
    assert len(frames) == job.frame_count == 80
    assert progress[-1].frames_done == progress[-1].frames_total == 80
    assert previews and previews[0].shape == (SIZE, SIZE, 3)
    assert meta["visemes"]["closed"] > 0 and meta["visemes"]["closed"] < 80

    a = analyse_portrait(load_portrait(media["portrait"]))
    m = a.mouth
    mouth = (slice(int(m.y), int(m.y + m.h)), slice(int(m.x), int(m.x + m.w)))
    corner = (slice(0, 40), slice(0, 40))  # background, far from the head
    rest = frames[:5].mean(axis=0)

    def change(region, a_s, b_s):
        idx = slice(int(a_s * 25), int(b_s * 25))
        return float(np.abs(frames[idx][(slice(None), *region)] - rest[region]).mean())

    loud = change(mouth, LOUD[0] + 0.1, LOUD[1] - 0.1)
    quiet_before = change(mouth, 0.3, LOUD[0] - 0.1)
    quiet_after = change(mouth, LOUD[1] + 0.35, DURATION)
    assert loud > 6.0
    assert loud > 4 * max(quiet_before, quiet_after, 0.5)
    assert change(corner, LOUD[0] + 0.1, LOUD[1] - 0.1) < 1.5
    # In the loud part the mouth opens: darker pixels appear inside the mouth box.
    dark_loud = (frames[30:50][(slice(None), *mouth)].mean(axis=-1) < 60).mean()
    dark_rest = (frames[:20][(slice(None), *mouth)].mean(axis=-1) < 60).mean()
    assert dark_loud > dark_rest + 0.03


@pytest.mark.parametrize("fps,duration", [(23.976, 2.0), (25.0, 1.96)])
def test_frame_count_and_duration_are_exact(media, tmp_path, fps, duration):
    job = make_job(media, tmp_path / f"take_{fps}.mp4", fps=fps, duration=duration, quality="draft")
    render_file(job)
    info = probe_video(job.output_path)
    assert info.frame_count == job.frame_count == round(duration * fps)
    expected_rate = Fraction(24000, 1001) if fps == 23.976 else Fraction(25)
    assert info.fps == expected_rate
    assert info.duration == pytest.approx(float(job.frame_count / expected_rate), abs=1e-6)


def test_no_face_is_a_clear_error_and_a_mouth_box_fixes_it(media, tmp_path):
    job = make_job(media, tmp_path / "lake.mp4", portrait_path=str(media["landscape"]), duration=1.0)
    logs = []
    with pytest.raises(FaceNotFoundError) as info:
        render_file(job, RenderContext(on_log=lambda level, msg: logs.append((level, msg))))
    assert "Cast panel" in info.value.hint
    assert not (tmp_path / "lake.mp4").exists()
    assert logs and logs[0][0] == "warning"

    boxed = job.replace(mouth_box=(0.4, 0.6, 0.2, 0.08), audio_path=str(media["audio"]), duration=DURATION)
    meta = render_file(boxed)
    assert meta["analysis"]["mouth_source"] == "user" and meta["blinks"] == 0
    frames = np.stack(read_frames(boxed.output_path)).astype(np.int16)
    assert len(frames) == boxed.frame_count
    box = (slice(int(0.6 * SIZE), int(0.68 * SIZE)), slice(int(0.4 * SIZE), int(0.6 * SIZE)))
    region = frames[(slice(None), *box)]
    assert np.abs(region[30:50] - region[:5].mean(axis=0)).mean() > 4.0


def test_cancel_mid_render_raises_and_leaves_no_file(media, tmp_path):
    token = CancelToken()
    seen = []

    def on_progress(p, eta):
        seen.append(p.frames_done)
        if p.frames_done == 10:
            token.cancel("newer draft")

    job = make_job(media, tmp_path / "cancelled.mp4")
    with pytest.raises(JobCancelled):
        render_file(job, RenderContext(cancel=token, on_progress=on_progress))
    assert max(seen) == 10
    assert not (tmp_path / "cancelled.mp4").exists()
    assert not list(tmp_path.glob("*.partial*"))


def test_deterministic_per_seed(media, tmp_path):
    job = make_job(media, tmp_path / "unused.mp4", duration=2.0, quality="draft")
    runs = []
    for seed in (7, 7, 8):
        sink = ListSink()
        SketchBackend().render(job.replace(seed=seed), sink, RenderContext())
        runs.append(np.stack(sink.frames))
    assert runs[0].shape == (50, SIZE, SIZE, 3)
    assert np.array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


def test_framings_and_ken_burns_render_at_the_job_size(media, tmp_path):
    for framing in ("portrait", "upper_body"):
        sink = ListSink()
        job = make_job(media, tmp_path / "x.mp4", framing=framing, width=160, height=96, duration=0.6,
                       options={"ken_burns": True})
        meta = SketchBackend().render(job, sink, RenderContext())
        assert len(sink.frames) == 15 and sink.frames[0].shape == (96, 160, 3)
        assert meta["ken_burns"] > 0
        assert not np.array_equal(sink.frames[0], sink.frames[-1])


def test_several_faces_are_logged_and_the_chosen_one_animates(tmp_path):
    from engine.media import save_image
    from engine.media.synthetic import draw_portrait

    canvas = np.zeros((320, 560, 3), np.uint8)
    canvas[:, :320] = draw_portrait(2, (320, 320))
    canvas[60:260, 350:550] = draw_portrait(4, (200, 200))
    path = tmp_path / "two.png"
    save_image(path, canvas)
    job = JobSpec(shot_id="two", portrait_path=str(path), duration=0.4, fps=25.0, width=280, height=160,
                  output_path=str(tmp_path / "two.mp4"), framing="full_body")
    for index, left in ((0, True), (1, False)):
        logs: list[tuple[str, str]] = []
        sink = ListSink()
        meta = SketchBackend().render(job.replace(options={"face_index": index}), sink,
                                      RenderContext(on_log=lambda level, msg, logs=logs: logs.append((level, msg))))
        assert len(sink.frames) == 10
        assert any(level == "warning" and "2 faces found" in msg for level, msg in logs)
        assert meta["analysis"]["faces_found"] == 2 and (meta["analysis"]["face"][0] < 320) == left
        assert meta["face"]["index"] == index and meta["face"]["count"] == 2


def test_prefetch_keeps_order_raises_errors_and_stops_when_closed():
    import threading

    from engine.backends.sketch.backend import prefetched

    assert [int(f[0]) for f in prefetched(lambda i: np.full(1, i), 7)] == list(range(7))

    def broken(i):
        if i == 3:
            raise ValueError("frame 3")
        return np.zeros(1)

    with pytest.raises(ValueError, match="frame 3"):
        list(prefetched(broken, 6))

    drawn = []
    gen = prefetched(lambda i: drawn.append(i) or np.zeros(1), 1000)
    next(gen)
    gen.close()
    assert len(drawn) < 10
    assert not [t for t in threading.enumerate() if t.name == "sketch-draw"]


def test_pipelined_and_plain_renders_are_identical(media, tmp_path):
    job = make_job(media, tmp_path / "unused.mp4", duration=1.2, quality="draft")
    outs = []
    for pipeline in (True, False):
        sink = ListSink()
        SketchBackend().render(job.replace(options={"pipeline": pipeline}), sink, RenderContext())
        outs.append(np.stack(sink.frames))
    assert np.array_equal(outs[0], outs[1])
