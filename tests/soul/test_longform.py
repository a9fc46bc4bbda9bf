"""Long-form generation: chunk plans, streamed crossfades, audio sync, codebook at borders."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.backends.base import CancelToken, JobCancelled, RenderContext
from engine.backends.soul.codebook import CodebookConfig
from engine.backends.soul.longform import (
    ChunkRequest,
    ChunkResult,
    OverlapBlender,
    blend_weights,
    frame_to_sample,
    generate_long,
    latent_frames,
    overlap_for_motion_latents,
    plan_chunks,
    round_up_4k1,
)
from engine.media import VideoWriter, probe_video, read_frames
from engine.timebase import fps_fraction


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models run fastest on one thread, and do not stall when the CPUs are shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def frame_value(g: int) -> int:
    return (g * 7) % 200 + 20


class FakeGenerator:
    """Frames painted from the shot frame index; records the audio sample heard under each frame.

    ``encode_*`` pool pixels into 3-channel latents (1 latent per first frame, then per 4).
    """

    def __init__(self, size: int = 16, fps: float = 24.0, sample_rate: int = 16_000, chunk_offset: int = 0) -> None:
        self.size = size
        self.fps = fps
        self.sample_rate = sample_rate
        self.chunk_offset = chunk_offset  # per-chunk brightness shift, to make seams visible
        self.heard: dict[int, list[int]] = {}
        self.requests: list[ChunkRequest] = []

    def encode_frames(self, frames: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.asarray(frames, dtype=np.float32) / 127.5 - 1.0)  # F,H,W,3
        f = x.shape[0]
        assert (f - 1) % 4 == 0
        groups = [x[:1]] + [x[1 + 4 * i : 5 + 4 * i] for i in range((f - 1) // 4)]
        lat = torch.stack([g.mean(0) for g in groups])  # T,H,W,3
        lat = torch.nn.functional.avg_pool2d(lat.permute(0, 3, 1, 2), 4)  # T,3,h,w
        return lat.permute(1, 0, 2, 3).contiguous()[None]

    def encode_reference(self, image: np.ndarray) -> torch.Tensor:
        return self.encode_frames(np.asarray(image)[None, : self.size, : self.size])

    def generate_chunk(self, request: ChunkRequest) -> ChunkResult:
        self.requests.append(request)
        w = request.window
        spf = self.sample_rate / float(fps_fraction(self.fps))
        frames = np.empty((w.num_frames, self.size, self.size, 3), dtype=np.uint8)
        for k in range(w.num_frames):
            g = w.frame_start + k
            local = int(math.floor(k * spf + 1e-9))
            if local < len(request.audio):
                self.heard.setdefault(g, []).append(int(request.audio[local]))
            frames[k] = np.clip(frame_value(g) + self.chunk_offset * (w.index % 2), 0, 255)
            request.on_step(k + 1, w.num_frames)
        return ChunkResult(frames=frames, latents=self.encode_frames(frames))


class ListSink:
    def __init__(self) -> None:
        self.frames: list[np.ndarray] = []

    def write(self, frame: np.ndarray) -> None:
        self.frames.append(np.array(frame))


def _request(window) -> ChunkRequest:
    return ChunkRequest(window, np.zeros(window.audio_end - window.audio_start, np.float32), None, 0, lambda s, t: None)


# ------------------------------------------------------------------------ plan


@pytest.mark.parametrize("reference", [True, False])
@pytest.mark.parametrize("motion", [1, 2, 3])
@pytest.mark.parametrize("total", [1, 2, 5, 81, 120, 121, 122, 200, 241, 7200])
def test_plan_covers_every_frame_once(total, motion, reference):
    plan = plan_chunks(total, window=121, motion_latents=motion, fps=24.0, reference_frame=reference)
    assert sum(c.new_frames for c in plan) == total
    assert plan.chunks[0].frame_start == 0 and plan.chunks[0].overlap == 0 and plan.chunks[0].lead == 0
    assert plan.overlap == overlap_for_motion_latents(motion, reference)
    assert (plan.motion_source_frames - 1) % 4 == 0  # the encoded tail is itself 4k+1 frames
    for c in plan:
        assert (c.num_frames - 1) % 4 == 0 and c.num_frames <= 121
        assert c.latent_count == (c.num_frames - 1) // 4 + 1
        assert c.keep == min(c.num_frames, total - c.frame_start)
        assert c.new_frames > 0
    for a, b in zip(plan.chunks, plan.chunks[1:]):
        # the next chunk's first kept frame repeats the previous chunk's last `overlap` frames
        assert b.frame_start + b.lead == a.frame_end - plan.overlap
        assert b.overlap == plan.overlap and b.lead == (1 if reference else 0)
        assert b.cond_latents == motion + b.lead
    assert plan.chunks[-1].frame_end >= total


def test_plan_numbers_for_wan_windows():
    assert len(plan_chunks(121)) == 1
    assert plan_chunks(100).chunks[0].num_frames == 101
    plan = plan_chunks(122, window=121, motion_latents=2, reference_frame=False)
    last = plan.chunks[-1]
    assert (last.frame_start, last.overlap, last.num_frames, last.keep) == (116, 5, 9, 6)
    plan = plan_chunks(122, window=121, motion_latents=2)  # with the portrait lead frame
    last = plan.chunks[-1]
    assert (last.frame_start, last.lead, last.overlap, last.num_frames, last.keep) == (112, 1, 8, 13, 10)
    five_min = plan_chunks(5 * 60 * 24, window=121, motion_latents=2)
    assert len(five_min) == math.ceil((7200 - 121) / 112) + 1


def test_4k1_helpers():
    assert [round_up_4k1(n) for n in (1, 2, 5, 6, 120, 121)] == [1, 5, 5, 9, 121, 121]
    assert latent_frames(121) == 31
    with pytest.raises(ValueError):
        latent_frames(120)
    with pytest.raises(ValueError):
        plan_chunks(100, window=13, motion_latents=3)  # 1 + 12 conditioned frames leave nothing new


@pytest.mark.parametrize("fps", [23.976, 24.0, 25.0, 29.97, 30.0])
def test_audio_windows_line_up_with_frame_times(fps):
    rate = 16_000
    offset = 12_345  # audio-in point inside the source
    plan = plan_chunks(600, window=81, motion_latents=3, fps=fps, sample_rate=rate, audio_offset=offset)
    spf = rate / float(fps_fraction(fps))
    for c in plan:
        assert c.audio_start == frame_to_sample(c.frame_start, fps, rate, offset)
        assert c.audio_end == plan.frame_to_sample(c.frame_end)
        for k in (0, c.lead, c.lead + c.overlap, c.num_frames - 1):
            assert abs(c.audio_start + k * spf - plan.frame_to_sample(c.frame_start + k)) <= 1.0
    if fps == 23.976:  # 667.33 samples a frame; long shots do not drift
        assert plan.frame_to_sample(24000) - offset == 24000 * rate * 1001 // 24000


# --------------------------------------------------------------------- blender


def test_blend_weights_rise_strictly_inside_unit_interval():
    for curve in ("linear", "cosine"):
        w = blend_weights(9, curve)
        assert np.all(np.diff(w) > 0) and w[0] > 0 and w[-1] < 1
        np.testing.assert_allclose(w + w[::-1], 1.0, atol=1e-12)
    with pytest.raises(ValueError):
        blend_weights(3, "step")


@pytest.mark.parametrize("reference", [True, False])
def test_blender_streams_exact_frames_in_order(reference):
    total = 300
    plan = plan_chunks(total, window=41, motion_latents=3, reference_frame=reference)
    gen = FakeGenerator()
    sink = ListSink()
    blender = OverlapBlender(sink, plan)
    for c in plan:
        blender.push(c, gen.generate_chunk(_request(c)).frames)
        assert blender.held_frames() <= plan.overlap
    assert len(sink.frames) == total
    assert [int(f[0, 0, 0]) for f in sink.frames] == [frame_value(g) for g in range(total)]


def test_blender_crossfades_a_seam():
    plan = plan_chunks(60, window=41, motion_latents=2)  # overlap of 8 frames, after 1 lead frame
    gen = FakeGenerator(chunk_offset=40)
    sink = ListSink()
    blender = OverlapBlender(sink, plan, curve="linear")
    for c in plan:
        blender.push(c, gen.generate_chunk(_request(c)).frames)
    start = plan.chunks[1].frame_start + plan.chunks[1].lead
    shift = [int(sink.frames[g][0, 0, 0]) - frame_value(g) for g in range(start - 1, start + plan.overlap + 1)]
    # chunk 0 (shift 0) fades into chunk 1 (shift 40) through strictly increasing, even steps
    assert shift[0] == 0 and shift[-1] == 40
    assert all(b > a for a, b in zip(shift, shift[1:]))
    assert max(b - a for a, b in zip(shift, shift[1:])) <= 40 / (plan.overlap + 1) + 1


def test_blender_rejects_out_of_order_and_short_chunks():
    plan = plan_chunks(200, window=41)
    blender = OverlapBlender(ListSink(), plan)
    with pytest.raises(ValueError):
        blender.push(plan.chunks[1], [])
    with pytest.raises(ValueError):
        blender.push(plan.chunks[0], np.zeros((3, 4, 4, 3), np.uint8))


# ---------------------------------------------------------------------- driver


@pytest.mark.parametrize("reference", [True, False])
def test_generate_long_streams_to_a_movie_with_audio_sync(tmp_path: Path, reference):
    fps, rate, total = 25.0, 16_000, 173
    offset = 800  # the shot starts 50 ms into the audio
    plan = plan_chunks(total, window=41, motion_latents=2, fps=fps, sample_rate=rate, audio_offset=offset,
                       reference_frame=reference)
    audio = np.arange(offset + total * rate // 25 + rate, dtype=np.float32)  # value = its own sample index
    gen = FakeGenerator(size=32, fps=fps, sample_rate=rate)
    reports = []
    ctx = RenderContext(on_progress=lambda p, eta: reports.append(p))
    out = tmp_path / "long.mp4"
    portrait = np.full((32, 32, 3), 128, np.uint8)
    with VideoWriter(out, fps, 32, 32) as writer:
        result = generate_long(gen, plan, audio, portrait, writer, ctx, codebook=CodebookConfig(size=8, threshold=0.5))
    n = len(plan)
    assert result.frames == total and result.chunks == n >= 4
    assert probe_video(out).frame_count == total
    decoded = read_frames(out)
    for g in (0, 40, 41, 80, 120, 172):
        assert abs(float(decoded[g].mean()) - frame_value(g)) < 6
    # every frame heard the audio sample of its own time, also where two chunks overlap
    for g, heard in gen.heard.items():
        if g < total:
            assert all(abs(h - plan.frame_to_sample(g)) <= 1 for h in heard), (g, heard)
    twice = {g for g, h in gen.heard.items() if len(h) == 2}
    assert twice == {g for c in plan.chunks[1:] for g in range(c.frame_start, c.frame_start + c.lead + c.overlap)}
    # chunk 0 starts from the portrait latent, later ones from [portrait,] + 2 motion latents
    assert gen.requests[0].cond_latents.shape[2] == 1
    assert all(r.cond_latents.shape[2] == r.window.cond_latents == 2 + int(reference) for r in gen.requests[1:])
    if reference:
        ref = gen.encode_reference(portrait)
        assert all(torch.equal(r.cond_latents[:, :, :1], ref) for r in gen.requests[1:])
    done = [p.message for p in reports if p.message.endswith("done")]
    assert done == [f"chunk {i}/{n} done" for i in range(1, n + 1)]
    assert reports[-1].fraction == 1.0
    sidecar = result.to_dict()
    assert len(sidecar["codebook_replacements"]) == n - 1 and sidecar["codebook"]["size"] == 8


def test_generate_long_cancels_between_steps():
    plan = plan_chunks(200, window=41)
    token = CancelToken()

    def on_progress(p, eta):
        if p.chunk >= 1:
            token.cancel("user")

    sink = ListSink()
    with pytest.raises(JobCancelled):
        generate_long(FakeGenerator(), plan, np.zeros(10, np.float32), np.zeros((16, 16, 3), np.uint8), sink,
                      RenderContext(cancel=token, on_progress=on_progress))
    assert len(sink.frames) < 200


SHIFT = torch.tensor([0.9, -0.9, 0.0]).view(1, 3, 1, 1, 1)


def test_codebook_corrections_are_what_the_next_chunk_sees():
    """The corrected motion latents, not the drifted ones, condition the next chunk (checked on values)."""
    from engine.backends.soul.codebook import Codebook, face_tokens

    class Drifting(FakeGenerator):
        def generate_chunk(self, request):
            result = super().generate_chunk(request)
            lat = result.latents.clone()
            if request.window.index == 1:
                lat[:, :, -2:] += SHIFT  # chunk 2's tail drifts off the identity's colours
            return ChunkResult(frames=result.frames, latents=lat)

    gen = Drifting()
    plan = plan_chunks(61, window=25, motion_latents=2)
    config = CodebookConfig(size=8, threshold=0.05)
    ref = np.full((16, 16, 3), 140, np.uint8)
    ref[:8] = 60
    result = generate_long(gen, plan, np.zeros(61 * 700, np.float32), ref, ListSink(), seed=1, codebook=config)
    assert len(gen.requests) == len(plan) >= 3
    ref_latents = gen.encode_reference(ref)
    chunk0 = gen.encode_frames(np.asarray(_frames_of(gen, 0)))
    book = Codebook.build([ref_latents, face_tokens(chunk0, None)], config)
    tail = gen.encode_frames(np.asarray(_frames_of(gen, 1)))[:, :, -2:]
    drifted = tail + SHIFT
    corrected, report = book.correct(drifted)
    assert report.replaced > 0 and result.codebook_replacements[1] == report.replaced
    assert torch.allclose(gen.requests[1].cond_latents[:, :, 1:], chunk0[:, :, -2:])  # no drift: untouched
    seen = gen.requests[2].cond_latents
    assert torch.equal(seen[:, :, :1], ref_latents)  # the pivot reference latent heads every chunk
    assert torch.allclose(seen[:, :, 1:], corrected)
    assert not torch.allclose(seen[:, :, 1:], drifted)


def _frames_of(gen, index):
    w = gen.requests[index].window
    return [np.full((gen.size, gen.size, 3), frame_value(w.frame_start + k), np.uint8) for k in range(w.num_frames)]
