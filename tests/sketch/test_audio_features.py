"""Per-frame mouth controls: silent stays shut, speech opens on time, vowels pick visemes."""

from __future__ import annotations

import numpy as np
import pytest

from engine.backends.sketch.audio import CLOSED, OPEN, ROUND, WIDE, audio_features, frame_centres, mouth_track
from engine.media.synthetic import _syllable, speech_like_audio

RATE = 16_000


@pytest.mark.parametrize("fps", [23.976, 25.0, 29.97])
def test_onset_lands_within_one_frame(fps):
    onset = 1.37
    clip = speech_like_audio(3.0, RATE, [(onset, 2.5)], seed=2)
    n = int(round(3.0 * fps))
    track = mouth_track(audio_features(clip.mono(), RATE, fps, n), fps)
    times = frame_centres(n, fps)
    first = int(np.argmax(track.open > 0.1))
    assert abs(times[first] - onset) <= 1.0 / fps
    assert np.all(track.open[times < onset - 1.0 / fps] == 0)
    assert track.open[(times > onset + 0.1) & (times < 2.4)].mean() > 0.3


def test_frame_times_are_exact_for_ntsc_rates():
    t = frame_centres(24001, 23.976)
    assert t[24000] == pytest.approx(1001.0)


@pytest.mark.parametrize("vowel,expected", [("a", OPEN), ("i", WIDE), ("u", ROUND)])
def test_vowels_choose_visemes(vowel, expected):
    rng = np.random.default_rng(0)
    x = _syllable(rng, RATE, RATE, 140, 130, vowel)
    x = (x / np.abs(x).max() * 0.3).astype(np.float32)
    track = mouth_track(audio_features(x, RATE, 25.0, 25), 25.0)
    labels = track.viseme[6:20]
    assert np.mean(labels == expected) > 0.7, track.viseme_counts()


def test_silence_is_closed_and_smoothing_does_not_flicker():
    clip = speech_like_audio(4.0, RATE, [(1.0, 3.0)], seed=9)
    track = mouth_track(audio_features(clip.mono(), RATE, 25.0, 100), 25.0)
    assert np.all(track.viseme[:20] == CLOSED) and np.all(track.viseme[-20:] == CLOSED)
    # No single-frame label blips and no large frame-to-frame jumps downwards (release).
    changes = np.nonzero(np.diff(track.viseme))[0]
    assert np.all(np.diff(changes) >= 2)
    assert np.diff(track.open).min() > -0.45


def test_dialogue_range_and_length_follow_the_job(media, tmp_path):
    from sketch_helpers import make_job

    from engine.backends.sketch.backend import load_dialogue, plan_mouth

    # The line's speech runs 1.0-2.2 s; starting the shot at 0.5 s moves it to 0.5-1.7 s.
    job = make_job(media, tmp_path / "x.mp4", audio_in=0.5, audio_out=2.5, duration=2.0)
    clip = load_dialogue(job)
    assert clip.sample_rate == RATE and clip.channels == 1 and clip.num_samples == 2 * RATE
    track = plan_mouth(job, clip)
    assert track.n_frames == job.frame_count == 50
    times = frame_centres(50, 25.0)
    first = times[int(np.argmax(track.open > 0.1))]
    assert abs(first - 0.5) <= 1 / 25
    # Without audio the mouth never moves.
    silent = plan_mouth(job.replace(audio_path=None), load_dialogue(job.replace(audio_path=None)))
    assert np.all(silent.open == 0) and np.all(silent.viseme == CLOSED)
