"""Long-form generation through the real SoulPipeline stages, on a tiny random-weight model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.backends.base import RenderContext
from engine.backends.soul.codebook import CodebookConfig
from engine.backends.soul.longform import PipelineChunkGenerator, ResizingSink, generate_long, plan_chunks
from engine.media import VideoWriter, probe_video


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def pipe(trained_pipe):
    """The session's tiny soul pipeline with a trained (non-zero) audio adapter (tests/soul/conftest.py)."""
    return trained_pipe


def portrait(width: int = 96, height: int = 80) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    img = np.zeros((height, width, 3), np.uint8)
    img[..., 0] = (40 + 150 * yy / height).astype(np.uint8)
    img[..., 1] = (30 + 120 * xx / width).astype(np.uint8)
    img[..., 2] = 100
    return img


class Recording(PipelineChunkGenerator):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen = []

    def generate_chunk(self, request):
        result = super().generate_chunk(request)
        self.seen.append((request.window, request.cond_latents.clone(), len(request.audio), result.latents.clone()))
        return result


def _render(pipe, path, total=41, seed=5):
    fps, rate = 24.0, 16_000
    rng = np.random.default_rng(0)
    audio = (0.2 * rng.standard_normal(total * rate // 24 + rate)).astype(np.float32)
    plan = plan_chunks(total, window=17, motion_latents=2, fps=fps, sample_rate=rate)
    gen = Recording(pipe, "a woman speaks", 64, 64, fps, steps=2, guidance_text=1.0, guidance_audio=2.0)
    previews, progress = [], []
    ctx = RenderContext(on_progress=lambda p, eta: progress.append(p), on_preview=previews.append,
                        preview_interval_s=0.0)
    with VideoWriter(path, fps, 48, 48) as writer:
        result = generate_long(gen, plan, audio, portrait(), ResizingSink(writer, 48, 48), ctx, seed=seed,
                               codebook=CodebookConfig(size=16, threshold=0.3))
    return plan, gen, result, previews, progress


def test_long_shot_through_the_pipeline(pipe, tmp_path):
    plan, gen, result, previews, progress = _render(pipe, tmp_path / "a.mp4")
    assert len(plan) == 4 and result.frames == 41
    info = probe_video(tmp_path / "a.mp4")
    assert info.frame_count == 41 and (info.width, info.height) == (48, 48)
    ref = gen.encode_reference(portrait())
    for window, cond, audio_len, latents in gen.seen:
        k = window.cond_latents
        assert cond.shape == (1, 16, k, 4, 4)
        assert torch.equal(cond[:, :, :1], ref)  # the portrait starts every chunk
        assert torch.allclose(latents[:, :, :k], cond)  # known frames stay as given
        assert latents.shape[2] == window.latent_count
        assert audio_len == window.audio_end - window.audio_start
    assert len(result.codebook_replacements) == len(plan) - 1
    assert previews and previews[0].ndim == 3
    assert any("chunk 4/4" in p.message for p in progress)
    assert gen.passes_per_step == 2  # audio guidance on, text guidance off


class ListSink:
    def __init__(self) -> None:
        self.frames: list[np.ndarray] = []

    def write(self, frame: np.ndarray) -> None:
        self.frames.append(frame.copy())


def test_long_shot_is_reproducible(pipe):
    """The same seed gives the same frames, chunk seeds included (compared before encoding)."""
    rng = np.random.default_rng(1)
    audio = (0.2 * rng.standard_normal(2 * 16_000)).astype(np.float32)
    runs = []
    for seed in (7, 7, 8):
        sink = ListSink()
        gen = PipelineChunkGenerator(pipe, "a man talks", 64, 64, 24.0, steps=2, guidance_text=1.0,
                                     guidance_audio=2.0)
        generate_long(gen, plan_chunks(25, window=17, motion_latents=2), audio, portrait(), sink, seed=seed)
        runs.append(np.stack(sink.frames))
    assert runs[0].shape == (25, 64, 64, 3)
    assert np.array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


def test_render_long_renders_a_job_with_a_preset(pipe, tmp_path):
    from engine.backends.soul.longform import render_long
    from engine.backends.soul.presets import resolve_preset
    from engine.jobs import JobSpec

    job = JobSpec(shot_id="s1", portrait_path="/p.png", duration=1.5, fps=24.0, width=48, height=40,
                  output_path=str(tmp_path / "take.mp4"), quality="final", backend="soul", seed=3,
                  options={"preset": "custom", "base": "final", "width": 64, "height": 64, "chunk_frames": 17,
                           "steps": 2, "guidance_text": 3.0, "guidance_audio": 2.0})
    preset = resolve_preset(job.quality, job.options)
    rng = np.random.default_rng(2)
    audio = (0.2 * rng.standard_normal(int(1.5 * 16_000))).astype(np.float32)
    with VideoWriter(job.output_path, job.fps, job.width, job.height) as writer:
        meta = render_long(pipe, job, preset, writer, RenderContext(), audio, portrait())
    info = probe_video(job.output_path)
    assert info.frame_count == job.frame_count == meta["frames"] == 36
    assert (info.width, info.height) == (48, 40)
    assert meta["longform"]["chunks"] == 4 and meta["passes_per_step"] == 3
    assert meta["preset"]["steps"] == 2 and meta["preset"]["overrides"]
    assert len(meta["longform"]["codebook_replacements"]) == 3


def test_render_long_draft_uses_student_and_light_vae(pipe, tmp_path):
    from engine.backends.soul.light_vae import light_vae_for
    from engine.backends.soul.longform import render_long
    from engine.backends.soul.presets import find_draft_parts, resolve_preset
    from engine.backends.soul.train import distill as D
    from engine.jobs import JobSpec

    samples = D.synthetic_samples(1, 16, 5, 4, 4, pipe.transformer.config.text_dim)
    config = D.DistillConfig(teacher_steps=8, student_steps=4, cfg_iters=2, step_iters=1, lr=1e-3, lora_rank=2)
    student, report = D.distill(pipe.transformer, samples, config)
    D.save_student(student, tmp_path / "model" / "student", config, report)
    light_vae_for(pipe.vae.config, (8, 8, 8, 8)).save_pretrained(tmp_path / "model" / "light_vae")
    before = {k: v.clone() for k, v in pipe.transformer.state_dict().items()}

    job = JobSpec(shot_id="s2", portrait_path="/p.png", duration=1.0, fps=25.0, width=64, height=64,
                  output_path=str(tmp_path / "draft.mp4"), quality="draft", backend="soul",
                  options={"preset": "custom", "base": "draft", "width": 64, "height": 64, "chunk_frames": 17})
    preset = resolve_preset(job.quality, job.options, find_draft_parts(tmp_path / "model"))
    assert (preset["transformer"], preset["vae"], preset["fallbacks"]) == ("student", "light", [])
    steps, previews = [], []
    ctx = RenderContext(on_progress=lambda p, eta: steps.append(p.total), on_preview=previews.append,
                        preview_interval_s=0.0)
    with VideoWriter(job.output_path, job.fps, 64, 64) as writer:
        meta = render_long(pipe, job, preset, writer, ctx, None, portrait())
    assert probe_video(job.output_path).frame_count == 25 == meta["frames"]
    assert meta["passes_per_step"] == 1 and max(steps) == 4  # the student's 4 single-pass steps
    assert previews and previews[0].shape == (64, 64, 3)  # previews decoded by the light VAE
    assert all(torch.allclose(before[k], v, atol=1e-6) for k, v in pipe.transformer.state_dict().items())
