"""Wav2Vec2 features: stacked layers, one window per video frame, long clips in segments."""

from __future__ import annotations

import numpy as np
import torch

from engine.backends.soul.audio import SoulAudioEncoder, fit_samples, frame_windows
from tests.soul.conftest import speech_like


def test_fit_samples_pads_and_trims():
    x = np.ones(1000, np.float32)
    assert fit_samples(x, 25, 25.0).shape == (16_000,)
    assert fit_samples(np.ones(40_000, np.float32), 25, 25.0).shape == (16_000,)
    padded = fit_samples(x, 25, 25.0)
    assert padded[:1000].sum() == 1000 and padded[1000:].sum() == 0
    assert fit_samples(x, 24, 24000 / 1001).shape == (16_016,)


def test_frame_windows_repeat_edges():
    feats = torch.arange(5).float()[:, None]
    win = frame_windows(feats, 2)[..., 0]
    assert win.shape == (5, 5)
    assert win[0].tolist() == [0, 0, 0, 1, 2]
    assert win[2].tolist() == [0, 1, 2, 3, 4]
    assert win[4].tolist() == [2, 3, 4, 4, 4]


def test_encode_shapes_and_sensitivity(tiny_pipe):
    enc = tiny_pipe.audio_encoder_wrapper()
    a = enc.encode(speech_like(0.5, 180.0, seed=1), fps=25.0, num_frames=13)
    b = enc.encode(speech_like(0.5, 330.0, seed=2), fps=25.0, num_frames=13)
    layers, width = enc.num_layers, enc.width
    assert a.shape == (13, 5, layers, width) and a.dtype == torch.float32
    assert torch.isfinite(a).all()
    assert not torch.allclose(a, b)
    # the centre of each window is that frame's own feature
    assert torch.equal(a[3, 2], a[2, 3]) and torch.equal(a[3, 2], a[4, 1])


def test_long_audio_encoded_in_segments(tiny_pipe):
    base = tiny_pipe.audio_encoder_wrapper()
    seg = SoulAudioEncoder(base.model, base.feature_extractor, context_frames=2, segment_seconds=1.0,
                           margin_seconds=0.25)
    samples = speech_like(3.3, 220.0, seed=3)
    whole = base.hidden_states(samples)
    parts = seg.hidden_states(samples)
    assert abs(parts.shape[0] - whole.shape[0]) <= 1
    assert torch.isfinite(parts).all()
    feats = seg.encode(samples, fps=24.0, num_frames=77)
    assert feats.shape[:2] == (77, 5)
