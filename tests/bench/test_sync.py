"""The weight-free lip-sync measure on real sketch renders, and its lag convention."""

from __future__ import annotations

import numpy as np

from soul_studio.bench.evaluate import evaluate_take
from soul_studio.bench.sync import audio_envelope, cross_correlate
from tests.bench.conftest import SHIFT


def test_sign_convention_picture_late_is_positive():
    rng = np.random.default_rng(0)
    audio = np.convolve(rng.random(120), np.ones(5) / 5, mode="same")
    mouth = np.r_[np.zeros(4), audio[:-4]]  # the mouth follows the sound 4 frames later
    result = cross_correlate(mouth, audio)
    assert result.offset_frames == 4
    assert result.confidence > 0.95 and result.in_sync < 0.8


def test_envelope_follows_loudness_at_the_frame_rate():
    rate, fps = 16_000, 25.0
    t = np.arange(2 * rate) / rate
    samples = np.where((t >= 0.8) & (t < 1.2), 0.5 * np.sin(2 * np.pi * 220 * t), 0.0)
    env = audio_envelope(samples, rate, fps, 50)
    loud = env[22:28].min()
    assert loud > env[:15].max() + 1.5  # log10 units: > 30 dB louder
    assert int(np.argmax(env > (loud + env[0]) / 2)) in (19, 20)  # the burst starts at frame 20


def test_in_sync_render_scores_higher_than_late_audio(takes):
    good = evaluate_take(takes["synced"])
    late = evaluate_take(takes["shifted"])
    assert abs(good.sync["offset_frames"]) <= 1
    assert good.sync["reliable"] and good.sync["confidence"] > 0.5
    # Audio 10 frames late: the mouth moves 10 frames before its sound (picture early).
    assert abs(late.sync["offset_frames"] + SHIFT) <= 1
    assert good.sync["in_sync_correlation"] > late.sync["in_sync_correlation"] + 0.4
    assert abs(late.sync["offset_seconds"] + SHIFT / 25.0) <= 1 / 25.0 + 1e-6
