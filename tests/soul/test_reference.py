"""SoulPipeline against diffusers' own Wan2.2 TI2V sampler, and its parts on values.

With a zero (freshly copy-initialised) adapter, Soul must sample exactly what
``WanImageToVideoPipeline(expand_timesteps=True)`` samples: same encode normalisation,
same clean portrait frame at timestep 0, same guidance, same scheduler steps, same
decode. The tiny VAE has per-channel latent mean/std far from (0, 1), so a wrong
normalisation cannot hide.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from diffusers import FlowMatchEulerDiscreteScheduler, UniPCMultistepScheduler, WanImageToVideoPipeline
from PIL import Image

from engine.backends.soul.pipeline import SoulConditioning
from tests.soul.conftest import speech_like

W, H, FRAMES, FPS, STEPS = 64, 64, 9, 25.0, 3
PROMPT, NEGATIVE = "a woman speaks softly to the camera", "static, blurred details, low quality"


def _photo() -> np.ndarray:
    from skimage import data

    img = data.astronaut()[30:330, 100:400]
    return np.array(Image.fromarray(img).resize((W, H), Image.BICUBIC))


def _scheduler(kind: str):
    if kind == "unipc":
        return UniPCMultistepScheduler(num_train_timesteps=1000, prediction_type="flow_prediction",
                                       use_flow_sigmas=True, flow_shift=5.0)
    return FlowMatchEulerDiscreteScheduler(shift=5.0)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return _photo()


@pytest.fixture(autouse=True)
def _keep_scheduler(tiny_pipe):
    """These tests swap the shared tiny pipeline's scheduler; put the folder's back afterwards."""
    before = tiny_pipe.scheduler
    yield
    tiny_pipe.scheduler = before


def _soul(pipe, image, gt, ga, seed=0, audio=True):
    pos, neg = pipe.encode_prompt(PROMPT, NEGATIVE if gt != 1.0 else None)
    feats = pipe.encode_audio(speech_like(FRAMES / FPS, 210.0, seed=1), FPS, FRAMES) if audio else None
    cond = pipe.conditioning(pos, neg, feats, pipe.encode_image(image, W, H))
    noise = pipe.prepare_latents(FRAMES, H, W, torch.Generator().manual_seed(seed))
    return pipe.denoise(noise, cond, STEPS, gt, ga), cond


@pytest.mark.parametrize("scheduler", ["unipc", "euler"])
@pytest.mark.parametrize(("gt", "ga"), [(1.0, 1.0), (4.0, 1.0), (4.0, 3.0)], ids=["no-cfg", "text", "text+audio"])
def test_zero_adapter_matches_diffusers_wan_i2v(tiny_pipe, photo, scheduler, gt, ga):
    tiny_pipe.scheduler = _scheduler(scheduler)
    reference = WanImageToVideoPipeline(
        tokenizer=tiny_pipe.tokenizer, text_encoder=tiny_pipe.text_encoder, vae=tiny_pipe.vae,
        scheduler=copy.deepcopy(tiny_pipe.scheduler), transformer=tiny_pipe.transformer, expand_timesteps=True,
    )
    reference.set_progress_bar_config(disable=True)
    with torch.no_grad():
        theirs = reference(image=Image.fromarray(photo), prompt=PROMPT, negative_prompt=NEGATIVE, height=H, width=W,
                           num_frames=FRAMES, num_inference_steps=STEPS, guidance_scale=gt, output_type="latent",
                           generator=torch.Generator().manual_seed(0), max_sequence_length=512).frames
    ours, cond = _soul(tiny_pipe, photo, gt, ga)
    assert tiny_pipe.passes_per_step(cond, gt, ga) == 1 + (gt != 1.0) + (ga != 1.0)
    assert ours.shape == theirs.shape
    assert torch.allclose(ours, theirs.float(), atol=1e-4), float((ours - theirs).abs().max())
    if scheduler == "unipc" and gt == 4.0 and ga == 1.0:  # decode once: the inverse normalisation
        mean = torch.tensor(tiny_pipe.vae.config.latents_mean).view(1, -1, 1, 1, 1)
        std = torch.tensor(tiny_pipe.vae.config.latents_std).view(1, -1, 1, 1, 1)
        with torch.no_grad():
            video = tiny_pipe.vae.decode(theirs * std + mean, return_dict=False)[0]
        expected = reference.video_processor.postprocess_video(video, output_type="np")[0]  # F,H,W,3 in [0, 1]
        frames = np.concatenate(list(tiny_pipe.decode_latents(ours))).astype(np.float32) / 255.0
        assert np.abs(frames - expected).max() < 1.5 / 255


def test_encode_image_normalises_with_the_vae_statistics(tiny_pipe, photo):
    vae = tiny_pipe.vae
    x = torch.from_numpy(photo).permute(2, 0, 1).float()[None, :, None] / 127.5 - 1.0
    with torch.no_grad():
        raw = vae.encode(x).latent_dist.mode()
    mean = torch.tensor(vae.config.latents_mean).view(1, -1, 1, 1, 1)
    std = torch.tensor(vae.config.latents_std).view(1, -1, 1, 1, 1)
    assert (std - 1).abs().max() > 0.3 and mean.abs().max() > 0.3  # the statistics matter
    assert torch.allclose(tiny_pipe.encode_image(photo, W, H), (raw - mean) / std, atol=1e-5)
    clip = np.stack([photo] * 5)
    with torch.no_grad():
        raw_clip = vae.encode(torch.from_numpy(clip).permute(3, 0, 1, 2).float()[None] / 127.5 - 1.0).latent_dist.mode()
    assert torch.allclose(tiny_pipe.encode_video(clip), (raw_clip - mean) / std, atol=1e-5)


@pytest.mark.parametrize("known", [1, 3])
def test_known_frames_get_timestep_zero_and_stay_clean(tiny_pipe, known):
    tiny_pipe.scheduler = _scheduler("unipc")
    pos, _ = tiny_pipe.encode_prompt(PROMPT, None)
    z = tiny_pipe.vae.config.z_dim
    cond_latents = torch.randn(1, z, known, H // 16, W // 16, generator=torch.Generator().manual_seed(4))
    cond = tiny_pipe.conditioning(pos, None, None, cond_latents)
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []

    def grab(module, args, kwargs):
        seen.append((kwargs["timestep"].clone(), kwargs["hidden_states"].clone()))

    handle = tiny_pipe.transformer.register_forward_pre_hook(grab, with_kwargs=True)
    try:
        out = tiny_pipe.denoise(tiny_pipe.prepare_latents(17, H, W, torch.Generator().manual_seed(0)), cond, STEPS,
                                1.0, 1.0)
    finally:
        handle.remove()
    per_frame = (H // 32) * (W // 32)
    timesteps = tiny_pipe.scheduler.timesteps
    assert len(seen) == STEPS
    for (ts, hidden), t in zip(seen, timesteps):
        assert ts.shape == (1, 5 * per_frame)
        assert torch.equal(ts[0, : known * per_frame], torch.zeros(known * per_frame))
        assert torch.allclose(ts[0, known * per_frame :], torch.full(((5 - known) * per_frame,), float(t)))
        assert torch.equal(hidden[:, :, :known], cond_latents)  # known frames enter clean, every step
    assert torch.equal(out[:, :, :known], cond_latents)


def _raw(pipe, x, t, text, audio):
    with pipe._injection.audio(audio), torch.no_grad():
        return pipe.transformer(hidden_states=x, timestep=t, encoder_hidden_states=text, return_dict=False)[0].float()


@pytest.mark.parametrize(("gt", "ga"), [(1.0, 1.0), (4.0, 1.0), (1.0, 3.0), (4.0, 3.0)])
def test_every_guidance_branch_on_values(trained_pipe, gt, ga):
    pipe = trained_pipe
    pos, neg = pipe.encode_prompt(PROMPT, NEGATIVE)
    tokens, null = pipe.project_audio(pipe.encode_audio(speech_like(FRAMES / FPS, 260.0, seed=2), FPS, FRAMES))
    cond = SoulConditioning(pos, neg, tokens, null, None)
    x = torch.randn(1, pipe.vae.config.z_dim, 3, H // 16, W // 16, generator=torch.Generator().manual_seed(8))
    t = torch.full((1, 3 * (H // 32) * (W // 32)), 600.0)
    full, text_only = _raw(pipe, x, t, pos, tokens), _raw(pipe, x, t, pos, null)
    uncond, neg_audio = _raw(pipe, x, t, neg, null), _raw(pipe, x, t, neg, tokens)
    assert (full - text_only).abs().mean() > 1e-4 and (text_only - uncond).abs().mean() > 1e-4
    expected = {
        (1.0, 1.0): full,
        (4.0, 1.0): neg_audio + 4.0 * (full - neg_audio),
        (1.0, 3.0): text_only + 3.0 * (full - text_only),
        (4.0, 3.0): uncond + 4.0 * (text_only - uncond) + 3.0 * (full - text_only),
    }[(gt, ga)]
    with torch.no_grad():
        got = pipe.predict(x, t, cond, gt, ga)
        batched = pipe.predict(x, t, cond, gt, ga, batch_cfg=True)
    assert torch.allclose(got, expected, atol=1e-5)
    assert torch.allclose(batched, expected, atol=1e-4)
