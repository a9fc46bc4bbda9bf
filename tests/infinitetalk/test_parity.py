"""Our backbone path against diffusers' own WanImageToVideoPipeline (Wan2.1 I2V with CLIP)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from engine.backends.infinitetalk.audio import frame_windows
from tests.infinitetalk.conftest import H, W

FRAMES, STEPS, GUIDANCE = 9, 3, 5.0
PROMPT, NEGATIVE = "a woman speaks softly to the camera", "static, blurred details"


@pytest.fixture(scope="module")
def reference(zero_folder, astronaut):
    from diffusers import WanImageToVideoPipeline

    ref = WanImageToVideoPipeline.from_pretrained(zero_folder, dtype=torch.float32)
    ref.set_progress_bar_config(disable=True)
    image = Image.fromarray(astronaut).resize((W, H), Image.BICUBIC)
    frames = ref(image=image, prompt=PROMPT, negative_prompt=NEGATIVE, height=H, width=W, num_frames=FRAMES,
                 num_inference_steps=STEPS, guidance_scale=GUIDANCE, generator=torch.Generator().manual_seed(7),
                 output_type="np").frames[0]
    return np.asarray(image), frames


def _ours(pipe, rgb, audio=None, guidance_audio=1.0):
    pos, neg = pipe.encode_prompt(PROMPT, NEGATIVE)
    condition, _first = pipe.encode_condition(rgb, FRAMES)
    windows = None
    if audio is not None:
        windows = frame_windows(pipe.encode_audio(audio), 0, FRAMES)[None]
    cond = pipe.conditioning(pos, neg, pipe.encode_image(rgb), condition, windows)
    latents = pipe.prepare_latents(FRAMES, H, W, torch.Generator().manual_seed(7))
    latents = pipe.denoise(latents, cond, STEPS, GUIDANCE, guidance_audio, known=None)
    video = pipe.decode(latents)
    return video[0].permute(1, 2, 3, 0).numpy() / 2 + 0.5, cond


def test_backbone_path_matches_diffusers_i2v(zero_pipe, reference):
    rgb, expected = reference
    ours, _ = _ours(zero_pipe, rgb)
    assert ours.shape == expected.shape == (FRAMES, H, W, 3)
    assert np.abs(ours - expected).max() < 1e-4


def test_zero_audio_layers_with_audio_and_three_pass_cfg_match_diffusers(zero_pipe, reference, speech):
    rgb, expected = reference
    ours, cond = _ours(zero_pipe, rgb, audio=speech["a"], guidance_audio=4.0)
    assert cond.audio_tokens is not None and zero_pipe.passes_per_step(cond, GUIDANCE, 4.0) == 3
    assert np.abs(ours - expected).max() < 1e-4
