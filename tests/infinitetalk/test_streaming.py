"""Long shots window by window: float motion latents, Soul anchoring, progress and cancel."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.backends.base import CancelToken, JobCancelled, RenderContext
from engine.backends.infinitetalk.pipeline import reference_scheduler
from engine.backends.infinitetalk.streaming import StreamInputs, StreamRenderer, StreamSettings
from engine.media.image import fit_image
from tests.infinitetalk.conftest import H, W


class ListSink:
    def __init__(self) -> None:
        self.frames: list[np.ndarray] = []

    def write(self, frame: np.ndarray) -> None:
        self.frames.append(frame)


@pytest.fixture(scope="module")
def inputs(pipe, astronaut, speech):
    rgb = fit_image(astronaut, W, H, mode="cover")
    pos, _ = pipe.encode_prompt("a woman speaks")
    return StreamInputs(rgb, pos, None, pipe.encode_image(rgb), [pipe.encode_audio(speech["a"])])


@pytest.fixture(autouse=True)
def cheap_decode(pipe, monkeypatch):
    """The window logic does not depend on the VAE; a nearest-neighbour 'decoder' keeps these tests fast."""
    def decode(latents):
        video = torch.nn.functional.interpolate(latents[:, :3].float(), scale_factor=(1, 8, 8), mode="nearest")
        first, rest = video[:, :, :1], video[:, :, 1:].repeat_interleave(4, dim=2)
        return torch.tanh(torch.cat([first, rest], dim=2))

    monkeypatch.setattr(pipe, "decode", decode)


def _spy(pipe, monkeypatch):
    calls = {"denoise": [], "encode": 0}
    denoise, encode = pipe.denoise, pipe.vae.encode

    def spy_denoise(latents, cond, *a, **kw):
        out = denoise(latents, cond, *a, **kw)
        calls["denoise"].append((kw["known"].clone(), out.clone()))
        return out

    def spy_encode(video, *a, **kw):
        calls["encode"] += 1
        assert not video[:, :, 1:].any()  # only [portrait, zeros…]: generated frames are never encoded
        return encode(video, *a, **kw)

    monkeypatch.setattr(pipe, "denoise", spy_denoise)
    monkeypatch.setattr(pipe.vae, "encode", spy_encode)
    return calls


def test_motion_latents_carry_over_as_floats_and_frames_are_exact(pipe, inputs, monkeypatch):
    pipe.scheduler = reference_scheduler(7.0)
    calls = _spy(pipe, monkeypatch)
    settings = StreamSettings(steps=1, guidance_text=1.0, guidance_audio=2.0, window=17, motion=5, min_window=9)
    progress = []
    sink = ListSink()
    record = StreamRenderer(pipe, inputs, settings, RenderContext(on_progress=lambda p, eta: progress.append(p))
                            ).run(30, sink)
    assert len(sink.frames) == 30 and sink.frames[0].shape == (H, W, 3)
    assert record["windows"] == 3 and [w["frames"] for w in record["plan"]] == [17, 17, 9]
    (k0, out0), (k1, out1), (k2, _) = calls["denoise"]
    assert k0.shape[2] == 1 and torch.equal(out0[:, :, :1], k0)  # the portrait latent heads window 0
    assert torch.equal(k1, out0[:, :, -2:]) and torch.equal(k2, out1[:, :, -2:])  # motion latents, never re-encoded
    assert calls["encode"] <= 2  # at most one I2V condition per window length (17 and 9), nothing else
    assert progress[-1].fraction == pytest.approx(1.0)
    assert {p.chunk for p in progress} == {0, 1, 2}


def test_soul_anchor_pivots_on_the_portrait_and_corrects_motion(pipe, inputs, monkeypatch):
    pipe.scheduler = reference_scheduler(7.0)
    calls = _spy(pipe, monkeypatch)
    settings = StreamSettings(steps=1, guidance_text=1.0, guidance_audio=2.0, window=17, motion=5, min_window=9,
                              soul_anchor=True, codebook_size=8, codebook_threshold=0.0, colour_anchor="first_window")
    sink = ListSink()
    record = StreamRenderer(pipe, inputs, settings).run(25, sink)
    assert len(sink.frames) == 25 and record["soul_anchor"] is True
    (k0, out0), (k1, _) = calls["denoise"]
    assert torch.equal(k1[:, :, :1], k0)  # the portrait latent pivots every window
    assert k1.shape[2] == 2 and record["codebook_replacements"][0] > 0  # threshold 0: drifting tokens replaced
    assert not torch.equal(k1[:, :, 1:], out0[:, :, -1:])


def test_cancel_between_steps_stops_the_render(pipe, inputs):
    token = CancelToken()

    def on_progress(p, eta):
        if p.chunk == 1:
            token.cancel("newer draft")

    sink = ListSink()
    settings = StreamSettings(steps=2, guidance_text=1.0, guidance_audio=1.0, window=17, motion=5, min_window=9,
                              colour_anchor="off")
    with pytest.raises(JobCancelled, match="newer draft"):
        StreamRenderer(pipe, inputs, settings, RenderContext(cancel=token, on_progress=on_progress)).run(30, sink)
    assert len(sink.frames) == 17  # the first window was streamed before the cancel
