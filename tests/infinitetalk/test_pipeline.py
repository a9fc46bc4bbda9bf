"""InfiniteTalkPipeline on tiny random weights: audio drives the picture, CFG, schedule, callbacks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.backends.infinitetalk.audio import frame_windows
from engine.backends.infinitetalk.pipeline import InfiniteTalkConditioning, reference_scheduler, reference_sigmas
from engine.media.image import fit_image
from tests.infinitetalk.conftest import H, W

FRAMES = 9


_ENCODED: dict = {}


def _encoded(pipe, rgb, gt):
    """Prompt, condition and CLIP tokens, encoded once per pipeline (the VAE encode is the slow part)."""
    key = (id(pipe), gt != 1.0)
    if key not in _ENCODED:
        pos, neg = pipe.encode_prompt("a woman speaks", "static" if gt != 1.0 else None)
        condition, first = pipe.encode_condition(rgb, FRAMES)
        _ENCODED[key] = (pos, neg, condition, first, pipe.encode_image(rgb))
    return _ENCODED[key]


def _sample(pipe, rgb, audio, seed=0, steps=2, gt=1.0, ga=3.0, callback=None, known=True):
    pos, neg, condition, first, image = _encoded(pipe, rgb, gt)
    windows = None if audio is None else frame_windows(pipe.encode_audio(audio), 0, FRAMES)[None]
    cond = pipe.conditioning(pos, neg, image, condition, windows)
    latents = pipe.prepare_latents(FRAMES, H, W, torch.Generator().manual_seed(seed))
    out = pipe.denoise(latents, cond, steps, gt, ga, callback, known=first if known else None)
    return out, first


@pytest.fixture(scope="module")
def rgb(astronaut):
    return fit_image(astronaut, W, H, mode="cover")


def test_audio_changes_the_picture_and_the_portrait_latent_is_kept(pipe, rgb, speech):
    a, first = _sample(pipe, rgb, speech["a"])
    a2, _ = _sample(pipe, rgb, speech["a"])
    b, _ = _sample(pipe, rgb, speech["b"])
    assert torch.equal(a, a2)
    assert torch.equal(a[:, :, :1], first) and torch.equal(b[:, :, :1], first)
    frames_a, frames_b = pipe.to_uint8(pipe.decode(a)), pipe.to_uint8(pipe.decode(b))
    assert frames_a.shape == (FRAMES, H, W, 3)
    assert np.abs(frames_a[1:].astype(int) - frames_b[1:]).mean() > 0.5


def test_silence_changes_nothing_with_zero_audio_layers(zero_pipe, rgb, speech):
    spoken, _ = _sample(zero_pipe, rgb, speech["a"], ga=1.0)
    silent, _ = _sample(zero_pipe, rgb, np.zeros(16_000, np.float32), ga=1.0)
    none, _ = _sample(zero_pipe, rgb, None, ga=1.0)
    assert torch.equal(spoken, silent) and torch.equal(spoken, none)


def test_seed_changes_the_take(pipe, rgb):
    a, _ = _sample(pipe, rgb, None, seed=1)
    b, _ = _sample(pipe, rgb, None, seed=2)
    assert not torch.allclose(a[:, :, 1:], b[:, :, 1:])


def test_guidance_follows_the_reference_formula(pipe, monkeypatch):
    """uncond + gt·(cond − drop_text) + ga·(drop_text − uncond); gt = 1: drop_audio + ga·(cond − drop_audio)."""
    pos, neg, audio, null = (torch.full((1,), float(v)) for v in (1, 2, 3, 4))
    values = {(1, 3): 10.0, (2, 3): 6.0, (2, 4): 1.0, (1, 4): 7.0}

    def fake(x, t, text, image, tokens, speakers, masks):
        return torch.tensor([values[(int(text), int(tokens))]])

    monkeypatch.setattr(pipe, "_forward", fake)
    cond = InfiniteTalkConditioning(pos, neg, torch.zeros(1), torch.zeros(1), audio, null)
    assert float(pipe.predict(None, None, cond, 5.0, 4.0)) == pytest.approx(1 + 5 * (10 - 6) + 4 * (6 - 1))
    assert float(pipe.predict(None, None, cond, 1.0, 2.0)) == pytest.approx(7 + 2 * (10 - 7))
    assert pipe.passes_per_step(cond, 5.0, 4.0) == 3 and pipe.passes_per_step(cond, 1.0, 2.0) == 2
    assert pipe.passes_per_step(cond, 1.0, 1.0) == 1


def test_reference_schedule_with_shift():
    sched = reference_scheduler(7.0)
    sched.set_timesteps(sigmas=reference_sigmas(5))
    t = np.linspace(1000, 1, 5, dtype=np.float64) / 1000
    expected = 7 * t / (1 + 6 * t)  # the reference's timestep_transform
    assert np.allclose(sched.sigmas[:-1].numpy(), expected, atol=1e-6) and float(sched.sigmas[-1]) == 0.0
    assert np.allclose(sched.timesteps.numpy(), expected * 1000, atol=1e-3)


def test_callback_reports_every_step_and_can_stop(pipe, rgb):
    pipe.scheduler = reference_scheduler(7.0)
    seen = []

    def record(i, n, t, lat, x0):
        seen.append((i, n))
        assert pipe.preview.image(x0).dtype == np.uint8

    _sample(pipe, rgb, None, steps=3, callback=record)
    assert seen == [(0, 3), (1, 3), (2, 3)]

    def stop(i, n, t, lat, x0):
        if i == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _sample(pipe, rgb, None, steps=3, callback=stop)


def test_call_renders_a_two_speaker_window(multi_pipe, astronaut, speech):
    frames = multi_pipe(astronaut, "two people talk", [speech["a"], np.zeros(16_000, np.float32)], FRAMES, W, H,
                        speaker_boxes=[[0.0, 0.1, 0.5, 0.9], [0.5, 0.1, 1.0, 0.9]], num_inference_steps=2,
                        guidance_text=1.0, guidance_audio=2.0, generator=torch.Generator().manual_seed(0))
    assert frames.shape == (FRAMES, H, W, 3) and frames.dtype == np.uint8
    with pytest.raises(ValueError, match="face box"):
        multi_pipe(astronaut, "x", [speech["a"], speech["b"]], FRAMES, W, H, num_inference_steps=1)


def test_bfloat16_pipeline_runs_the_audio_layers(tiny_folder, rgb, speech):
    """bf16 is what CUDA loads: the adapter's float32 norms must accept bf16 weights."""
    from engine.backends.infinitetalk.loader import LoadOptions, load_infinitetalk_pipeline

    pipe16 = load_infinitetalk_pipeline(tiny_folder, LoadOptions(dtype="bfloat16"))
    assert pipe16.transformer.dtype == torch.bfloat16 and pipe16.audio_adapter.dtype == torch.bfloat16
    out, first = _sample(pipe16, rgb, speech["a"], steps=1, gt=5.0, ga=4.0)
    assert out.dtype == torch.float32 and torch.isfinite(out).all() and torch.equal(out[:, :, :1], first)
