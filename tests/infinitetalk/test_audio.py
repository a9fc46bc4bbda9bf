"""Audio features the way InfiniteTalk was trained: wav2vec2 at 25 fps, all layers, windows."""

from __future__ import annotations

import numpy as np
import pyloudnorm
import torch
import torch.nn.functional as F

from engine.backends.infinitetalk.audio import (
    InfiniteTalkAudioEncoder,
    extend_mirror,
    frame_windows,
    loudness_normalise,
    video_frames,
)


def _manual_reference(model, fe, samples, frames):
    """The reference's Wav2Vec2 forward: conv → interpolate (align_corners) → projection → encoder."""
    values = torch.from_numpy(np.squeeze(fe(samples, sampling_rate=16_000).input_values)).float()[None]
    conv = model.feature_extractor(values).transpose(1, 2)
    conv = F.interpolate(conv.transpose(1, 2), size=frames, align_corners=True, mode="linear").transpose(1, 2)
    hidden, _ = model.feature_projection(conv)
    enc = model.encoder
    hidden = hidden + enc.pos_conv_embed(hidden)
    hidden = enc.layer_norm(hidden)
    states = []
    for layer in enc.layers:
        out = layer(hidden)
        hidden = out[0] if isinstance(out, tuple) else out
        states.append(hidden)
    return torch.stack(states, dim=2)[0]


def test_features_are_per_video_frame_and_match_the_reference_forward(pipe, speech):
    samples = speech["a"]
    frames = video_frames(samples)
    assert frames == int(len(samples) / 16_000 * 25)
    encoder = InfiniteTalkAudioEncoder(pipe.audio_encoder, pipe.feature_extractor, normalise_loudness=False)
    ours = encoder.encode(samples)
    assert ours.shape == (frames, encoder.num_layers, encoder.width)
    with torch.no_grad():
        expected = _manual_reference(pipe.audio_encoder, pipe.feature_extractor, samples, frames)
    assert torch.allclose(ours, expected, atol=1e-4)


def test_long_clips_are_encoded_in_segments_close_to_whole(pipe, speech):
    samples = np.concatenate([speech["a"], speech["b"], speech["a"]])
    whole = InfiniteTalkAudioEncoder(pipe.audio_encoder, pipe.feature_extractor).encode(samples)
    split = InfiniteTalkAudioEncoder(pipe.audio_encoder, pipe.feature_extractor, segment_frames=60,
                                     margin_frames=20).encode(samples)
    assert split.shape == whole.shape
    rel = (split - whole).norm() / whole.norm()
    assert rel < 0.05


def test_loudness_is_normalised_to_minus_23_lufs(speech):
    quiet = speech["a"] * 0.05
    out = loudness_normalise(quiet)
    assert abs(pyloudnorm.Meter(16_000).integrated_loudness(out.astype(np.float64)) + 23.0) < 0.1
    silence = np.zeros(16_000, np.float32)
    assert np.array_equal(loudness_normalise(silence), silence)


def test_windows_clamp_at_the_start_and_mirror_past_the_end():
    feats = torch.arange(6.0)[:, None, None]  # frame i carries i
    win = frame_windows(feats, 0, 3)[..., 0, 0]
    assert win.tolist() == [[0, 0, 0, 1, 2], [0, 0, 1, 2, 3], [0, 1, 2, 3, 4]]
    tail = frame_windows(feats, 4, 4)[..., 0, 0]
    assert tail[0].tolist() == [2, 3, 4, 5, 5]  # 6 is the mirror of 5
    assert tail[-1].tolist() == [5, 5, 4, 3, 2]
    assert extend_mirror(feats, 15)[:, 0, 0].tolist() == [0, 1, 2, 3, 4, 5, 5, 4, 3, 2, 1, 0, 0, 1, 2]
