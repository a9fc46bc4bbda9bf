"""``options["lead_in"]``: every backend hears the same silence before the line, and the take's sound too."""

from __future__ import annotations

import numpy as np
import pytest

from engine.backends.infinitetalk.backend import InfiniteTalkBackend
from engine.backends.sketch.backend import load_dialogue
from engine.backends.soul.backend import SoulBackend
from engine.jobs import JobSpec, JobSpecError
from engine.media import AudioClip, write_audio
from engine.media.audio import StreamedAudio
from engine.takes import load_job_audio

LEAD = 0.5


@pytest.fixture
def line(tmp_path):
    """A second of loud noise from 0.2 s to 1.0 s of the file (the line's range is 0.2 .. 1.0)."""
    rng = np.random.default_rng(3)
    samples = np.zeros(48_000, np.float32)
    samples[9_600:] = rng.uniform(-0.5, 0.5, 38_400)
    path = tmp_path / "line.wav"
    write_audio(path, AudioClip(samples, 48_000))
    return path


def _job(line, tmp_path, **options) -> JobSpec:
    return JobSpec(shot_id="s", portrait_path=str(tmp_path / "p.png"), duration=1.5, fps=24, width=64, height=64,
                   output_path=str(tmp_path / "t.mp4"), audio_path=str(line), audio_in=0.2, audio_out=1.0,
                   options=options).validate()


def _first_sound(samples: np.ndarray, rate: int) -> float:
    return float(np.argmax(np.abs(np.asarray(samples).reshape(-1)) > 0.05)) / rate


@pytest.mark.parametrize("bad", [-0.1, 1.5, 2.0, float("nan"), float("inf"), "half", True])
def test_lead_in_is_seconds_inside_the_shot(line, tmp_path, bad):
    with pytest.raises(JobSpecError, match="lead_in"):
        _job(line, tmp_path, lead_in=bad)


def test_lead_in_changes_the_hash_only_when_set(line, tmp_path):
    plain, zero, led = _job(line, tmp_path), _job(line, tmp_path, lead_in=0.0), _job(line, tmp_path, lead_in=LEAD)
    assert plain.lead_in == 0.0 and led.lead_in == LEAD
    assert led.content_hash() != plain.content_hash()
    assert zero.content_hash() != led.content_hash()


def test_every_backend_and_the_take_hear_the_line_after_the_lead(line, tmp_path):
    job = _job(line, tmp_path, lead_in=LEAD)
    sketch = load_dialogue(job)
    assert sketch.duration == pytest.approx(1.5) and _first_sound(sketch.samples, 16_000) == pytest.approx(LEAD, abs=2e-3)
    soul = SoulBackend()._audio(job)
    assert soul is not None and _first_sound(soul, 16_000) == pytest.approx(LEAD, abs=2e-3)
    assert soul.size == pytest.approx((LEAD + 0.8) * 16_000, abs=2)  # the line, after the lead
    talk = InfiniteTalkBackend()._audio(job, {"audio_path": str(line), "audio_in": 0.2, "audio_out": 1.0})
    assert talk.size == 24_000 and _first_sound(talk, 16_000) == pytest.approx(LEAD, abs=2e-3)
    held = load_job_audio(job)
    assert isinstance(held, AudioClip) and _first_sound(held.samples[0], 48_000) == pytest.approx(LEAD, abs=1e-3)
    streamed = StreamedAudio(line, 48_000, None, 0.2, 1.0, 1.5, lead=LEAD)
    flowing = np.concatenate([streamed.block(i, 4_800) for i in range(0, 72_000, 4_800)], axis=1)
    assert flowing.shape == held.samples.shape and np.abs(flowing - held.samples).max() < 1e-4


def test_a_spooled_long_line_has_the_same_lead_as_the_held_one(line, tmp_path):
    job = _job(line, tmp_path, lead_in=LEAD)
    held = load_dialogue(job).samples[0]
    spooled = load_dialogue(job, spool_over=0.1)
    try:
        assert spooled.size == held.size
        assert np.array_equal(np.asarray(spooled[0:spooled.size]), held)
    finally:
        spooled.close()
