"""SoulPipeline on tiny random weights loaded through the real loader."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.backends.soul.adapter import AudioInjection
from engine.backends.soul.pipeline import _to_uint8, valid_frame_count
from tests.soul.conftest import portrait_array, speech_like

W, H, FRAMES, FPS = 64, 64, 9, 25.0


def _sample(pipe, audio, seed=0, steps=2, gt=1.0, ga=1.0, batch_cfg=False, callback=None):
    pos, neg = pipe.encode_prompt("a woman speaks", "static" if gt != 1.0 else None)
    feats = pipe.encode_audio(audio, FPS, FRAMES) if audio is not None else None
    cond = pipe.conditioning(pos, neg, feats, pipe.encode_image(portrait_array(), W, H))
    latents = pipe.prepare_latents(FRAMES, H, W, torch.Generator().manual_seed(seed))
    return pipe.denoise(latents, cond, steps, gt, ga, callback, batch_cfg), cond


def test_valid_frame_count():
    assert [valid_frame_count(n) for n in (1, 2, 5, 6, 9, 121, 122)] == [1, 5, 5, 9, 9, 121, 125]


def test_zero_init_adapter_matches_backbone_alone(tiny_pipe):
    audio = speech_like(0.4, 200.0)
    with_adapter, cond = _sample(tiny_pipe, audio)
    assert cond.audio_tokens is not None
    tiny_pipe._injection.remove()
    try:
        backbone, _ = _sample(tiny_pipe, audio)
    finally:
        tiny_pipe._injection = AudioInjection(tiny_pipe.transformer, tiny_pipe.audio_adapter)
    assert torch.equal(with_adapter, backbone)


def test_audio_changes_output_of_trained_adapter(trained_pipe):
    a, _ = _sample(trained_pipe, speech_like(0.4, 180.0, seed=1))
    a2, _ = _sample(trained_pipe, speech_like(0.4, 180.0, seed=1))
    b, _ = _sample(trained_pipe, speech_like(0.4, 320.0, seed=2))
    assert torch.equal(a, a2)  # same seed, same audio: same take
    assert not torch.allclose(a, b, atol=1e-4)
    # the portrait latent frame is kept as given
    assert torch.equal(a[:, :, :1], b[:, :, :1])
    frames_a = np.concatenate(list(trained_pipe.decode_latents(a)))
    frames_b = np.concatenate(list(trained_pipe.decode_latents(b)))
    assert frames_a.shape == (FRAMES, H, W, 3)
    assert np.abs(frames_a[1:].astype(int) - frames_b[1:]).mean() > 0.02


def test_seed_changes_output(tiny_pipe):
    a, _ = _sample(tiny_pipe, None, seed=1)
    b, _ = _sample(tiny_pipe, None, seed=2)
    assert not torch.allclose(a[:, :, 1:], b[:, :, 1:])


def test_guidance_passes_and_batched_cfg_agree(trained_pipe):
    calls = []
    hook = trained_pipe.transformer.register_forward_hook(lambda m, a, o: calls.append(1))
    try:
        seq, cond = _sample(trained_pipe, speech_like(0.4, 250.0), gt=4.0, ga=3.0)
        assert trained_pipe.passes_per_step(cond, 4.0, 3.0) == 3
        assert len(calls) == 2 * 3
        calls.clear()
        bat, _ = _sample(trained_pipe, speech_like(0.4, 250.0), gt=4.0, ga=3.0, batch_cfg=True)
        assert len(calls) == 2
    finally:
        hook.remove()
    assert torch.allclose(seq, bat, atol=1e-4)
    single, _ = _sample(trained_pipe, speech_like(0.4, 250.0))
    assert not torch.allclose(seq, single, atol=1e-4)


def test_callback_sees_every_step_and_can_stop(tiny_pipe):
    seen = []

    def on_step(i, n, t, latents, x0):
        seen.append((i, n, latents.shape == x0.shape))
        preview = tiny_pipe.preview_image(x0)
        assert preview.dtype == np.uint8 and preview.ndim == 3 and preview.shape[2] == 3

    _sample(tiny_pipe, None, steps=3, callback=on_step)
    assert seen == [(0, 3, True), (1, 3, True), (2, 3, True)]

    class Stop(Exception):
        pass

    def stop(i, *rest):
        if i == 1:
            raise Stop

    with pytest.raises(Stop):
        _sample(tiny_pipe, None, steps=3, callback=stop)


def test_streamed_decode_equals_full_decode(tiny_pipe):
    latents = torch.randn(1, tiny_pipe.vae.config.z_dim, 3, 4, 4, generator=torch.Generator().manual_seed(7))
    pieces = list(tiny_pipe.decode_latents(latents))
    assert [p.shape[0] for p in pieces] == [1, 4, 4]
    mean = torch.tensor(tiny_pipe.vae.config.latents_mean).view(1, -1, 1, 1, 1)
    std = torch.tensor(tiny_pipe.vae.config.latents_std).view(1, -1, 1, 1, 1)
    with torch.no_grad():
        full = _to_uint8(tiny_pipe.vae.decode(latents * std + mean).sample)
    assert np.array_equal(np.concatenate(pieces), full)


def test_preview_projection_reproduces_portrait_colours(tiny_pipe):
    img = portrait_array(128, 128)  # 8x8 latent: 64 pixels fit by 17 unknowns
    latent = tiny_pipe.encode_image(img, 128, 128)
    preview = tiny_pipe.preview_image(latent, frame=0, scale=1)
    import cv2

    small = cv2.resize(img, (preview.shape[1], preview.shape[0]), interpolation=cv2.INTER_AREA)
    assert np.abs(preview.astype(int) - small).mean() < 12


def test_geometry_checked(tiny_pipe):
    with pytest.raises(ValueError, match="multiple"):
        tiny_pipe.check_geometry(70, 64, 9)
    with pytest.raises(ValueError, match="4k\\+1"):
        tiny_pipe.check_geometry(64, 64, 8)


def test_encode_video_matches_image_path(tiny_pipe):
    from engine.media import fit_image

    img = fit_image(portrait_array(), W, H)
    single = tiny_pipe.encode_video(img[None])
    assert torch.allclose(single, tiny_pipe.encode_image(img, W, H), atol=1e-6)
    clip = np.stack([np.roll(img, 3 * i, axis=1) for i in range(5)])
    latents = tiny_pipe.encode_video(clip)
    assert latents.shape == (1, tiny_pipe.vae.config.z_dim, 2, H // 16, W // 16)
    with pytest.raises(ValueError):
        tiny_pipe.encode_video(clip[:4])


def test_multi_frame_conditioning_kept_fixed(tiny_pipe):
    pos, _ = tiny_pipe.encode_prompt("a man talks", None)
    known = torch.randn(1, tiny_pipe.vae.config.z_dim, 2, H // 16, W // 16, generator=torch.Generator().manual_seed(9))
    cond = tiny_pipe.conditioning(pos, None, None, known)
    noise = tiny_pipe.prepare_latents(13, H, W, torch.Generator().manual_seed(0))
    out = tiny_pipe.denoise(noise, cond, 2, 1.0, 1.0)
    assert out.shape[2] == 4
    assert torch.equal(out[:, :, :2], known) and not torch.allclose(out[:, :, 2:], noise[:, :, 2:])


def test_vae_tiling_decodes_all_frames(tiny_pipe):
    from engine.backends.soul.loader import LoadOptions

    assert LoadOptions().resolve()[1] == torch.float32  # CPU: fp32
    assert LoadOptions(dtype="bfloat16").resolve()[1] == torch.bfloat16
    latents = torch.randn(1, tiny_pipe.vae.config.z_dim, 3, 6, 6, generator=torch.Generator().manual_seed(1))
    streamed = np.concatenate(list(tiny_pipe.decode_latents(latents)))
    tiny_pipe.vae.enable_tiling(tile_sample_min_height=64, tile_sample_min_width=64, tile_sample_stride_height=48,
                                tile_sample_stride_width=48)
    try:
        tiled = np.concatenate(list(tiny_pipe.decode_latents(latents)))
    finally:
        tiny_pipe.vae.disable_tiling()
    assert tiled.shape == streamed.shape == (9, 96, 96, 3)
    assert np.abs(tiled.astype(int) - streamed).mean() < 40  # same picture, blended tile seams


def test_flow_match_euler_scheduler_also_samples(soul_copy):
    import json

    from diffusers import FlowMatchEulerDiscreteScheduler

    from engine.backends.soul.loader import load_soul_pipeline

    FlowMatchEulerDiscreteScheduler(shift=5.0).save_pretrained(soul_copy / "scheduler")
    assert json.loads((soul_copy / "scheduler" / "scheduler_config.json").read_text())["_class_name"] == (
        "FlowMatchEulerDiscreteScheduler")
    pipe = load_soul_pipeline(soul_copy)
    assert isinstance(pipe.scheduler, FlowMatchEulerDiscreteScheduler)
    out, _ = _sample(pipe, speech_like(0.4, 200.0), steps=2)
    assert out.shape == (1, pipe.vae.config.z_dim, 3, 4, 4) and torch.isfinite(out).all()
