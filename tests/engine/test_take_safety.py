"""Takes under pressure: long dialogue streamed into the movie, a failed sidecar leaves nothing."""

from __future__ import annotations

import json

import numpy as np

from engine import takes as take_module
from engine.backends.base import RenderContext
from engine.backends.testing import TestBackend
from engine.media import load_audio
from engine.media.audio import StreamedAudio
from engine.takes import write_take


def test_streamed_take_audio_matches_the_held_one(make_job, takes, monkeypatch):
    held = write_take(TestBackend(), make_job("held", audio_in=0.1, audio_out=2.9, duration=2.8), RenderContext())
    monkeypatch.setattr(take_module, "STREAM_AUDIO_AFTER_S", 0.5)
    seen = []
    real = take_module.load_job_audio

    def spy(job):
        clip = real(job)
        seen.append(type(clip))
        return clip

    monkeypatch.setattr(take_module, "load_job_audio", spy)
    streamed = write_take(TestBackend(), make_job("streamed", audio_in=0.1, audio_out=2.9, duration=2.8),
                          RenderContext())
    assert seen == [StreamedAudio]
    a = load_audio(held.take_path, 48_000, 1).mono()
    b = load_audio(streamed.take_path, 48_000, 1).mono()
    assert a.shape == b.shape
    assert np.abs(a - b).max() < 1e-3  # the same samples reached the encoder
    sidecar = json.loads((takes / "streamed.json").read_text())
    assert sidecar["audio"]["silent"] is False and sidecar["warnings"] == []


def test_failed_sidecar_write_leaves_no_movie_behind(make_job, takes, monkeypatch):
    import pytest

    from engine.media import MediaError

    def full_disk(path, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(take_module, "write_json_atomic", full_disk)
    with pytest.raises(MediaError, match="sidecar"):
        write_take(TestBackend(), make_job("lost"), RenderContext())
    assert list(takes.iterdir()) == []
