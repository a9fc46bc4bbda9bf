"""Lip sync on real speech: words aligned where they are spoken, closed lips on M/B/P,
rounded lips on "who knew", rest in pauses, and every fallback path."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from speech_helpers import ALSA_SOUNDS, RATE, espeak, frames_of, mono16, needs_alsa, needs_espeak

from engine.backends.sketch import lipsync as lipsync_module
from engine.backends.sketch.audio import audio_features
from engine.backends.sketch.lipsync import plan_lipsync
from engine.backends.sketch.longform import frame_db, loud_frames
from engine.backends.sketch.phonemes import SpeechUnavailable
from engine.backends.sketch.shapes import SHAPE_A, SHAPE_E, SHAPE_F, SHAPE_X, SHAPES
from engine.backends.sketch.shapetrack import LEAD_S

FPS = 25.0
PAD = 0.8  # seconds of silence around each espeak line


@pytest.fixture(scope="module")
def bob(tmp_path_factory: pytest.TempPathFactory):
    """ "Bob bought a map. Who knew?" by espeak-ng, in silence, aligned to its script."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    path = espeak("Bob bought a map. Who knew?", tmp_path_factory.mktemp("speech") / "bob.wav")
    x = mono16(path, PAD)
    n = frames_of(x.size, FPS)
    return x, n, plan_lipsync(x, RATE, FPS, n, "Bob bought a map. Who knew?")


def _times(n: int) -> np.ndarray:
    return np.arange(n) / FPS


def _runs(codes: np.ndarray) -> list[tuple[int, int, int]]:
    out, i = [], 0
    while i < len(codes):
        j = i
        while j < len(codes) and codes[j] == codes[i]:
            j += 1
        out.append((int(codes[i]), i, j))
        i = j
    return out


@needs_alsa
def test_recorded_speech_aligns_its_words_where_they_are_spoken():
    x = mono16(ALSA_SOUNDS / "Front_Center.wav")
    track = plan_lipsync(x, RATE, FPS, frames_of(x.size, FPS), "Front center!")
    assert track.method == "aligned"
    words = track.alignment["words"]
    assert [w[0] for w in words] == ["front", "center"]
    # The recording's two loud stretches (measured on the audio) start each word.
    loud = loud_frames(frame_db(x))
    edges = np.flatnonzero(np.diff(np.concatenate([[0], loud.astype(int), [0]])))
    runs = [(a * 0.01, b * 0.01) for a, b in zip(edges[::2], edges[1::2]) if b - a >= 10]  # 0.1 s or longer
    first, second = runs[0][0], runs[1][0]
    assert abs(words[0][1] - first) <= 0.08
    assert abs(words[1][1] - second) <= 0.08
    assert words[0][2] <= words[1][1]


@needs_espeak
def test_bilabials_press_the_lips_shut_at_the_stop(bob):
    x, n, track = bob
    assert track.method == "aligned"
    stops = [p for p in track.alignment["phones"] if p[0] in ("B", "M", "P")]
    assert len(stops) >= 4  # Bob (2), bought, map (2)
    times = _times(n)
    for _, start, end in stops:
        # The closure is on screen on a frame showing the stop (with the mouth's lead).
        near = np.flatnonzero((times + LEAD_S >= start - 0.5 / FPS) & (times + LEAD_S <= end + 0.5 / FPS))
        shut = [i for i in near if track.shape[i] == SHAPE_A]
        assert shut, (start, end, track.shape_letters())
        assert all(track.press[i] == 1.0 and track.open[i] == 0.0 for i in shut)
    # The word "Bob": the mouth opens wide between its two closures.
    bob_word = track.alignment["words"][0]
    inside = (times >= bob_word[1]) & (times <= bob_word[2])
    assert track.open[inside].max() > 0.6


@needs_espeak
def test_who_knew_rounds_the_lips(bob):
    x, n, track = bob
    times = _times(n)
    uw = [p for p in track.alignment["phones"] if p[0] == "UW"]
    assert len(uw) == 2
    for _, start, end in uw:
        span = (times + LEAD_S >= start) & (times + LEAD_S < end)
        shapes = track.shape[span]
        assert np.mean((shapes == SHAPE_E) | (shapes == SHAPE_F)) >= 0.75, track.shape_letters()
        assert track.width[span].min() < -0.5


@needs_espeak
def test_silence_rests_and_shapes_never_flicker(bob):
    x, n, track = bob
    times = _times(n)
    words = track.alignment["words"]
    before = times < words[0][1] - 0.1
    after = times > words[-1][2] + 0.3
    assert np.all(track.shape[before] == SHAPE_X) and np.all(track.open[before] == 0)
    assert np.all(track.shape[after] == SHAPE_X) and track.open[after].max() < 0.02
    # The pause between the sentences comes to rest too.
    gap = (times > words[3][2] + 0.15) & (times < words[4][1] - 0.1)
    assert gap.any() and np.all(track.shape[gap] == SHAPE_X)
    # A shape other than a closure stays at least two frames.
    short = [(SHAPES[s], a) for s, a, b in _runs(track.shape) if b - a < 2 and s != SHAPE_A]
    assert not short, track.shape_letters()
    assert len(track.shape_letters()) == n
    summary = track.summary()
    assert summary["method"] == "aligned" and len(summary["shapes"]) == n and summary["words"]


@needs_espeak
def test_loudness_scales_the_opening(tmp_path):
    path = espeak("Far", tmp_path / "far.wav")
    x = mono16(path, 0.3)
    n = frames_of(x.size, FPS)
    loud = plan_lipsync(x, RATE, FPS, n, "far")
    soft = plan_lipsync(x * 0.05, RATE, FPS, n, "far")
    # Normalised per clip, a quieter take of the same line opens the same; a whispered
    # stretch inside a loud line opens less.
    assert loud.open.max() == pytest.approx(soft.open.max(), abs=0.1)
    mixed = np.concatenate([x, x * 0.08])
    track = plan_lipsync(mixed, RATE, FPS, frames_of(mixed.size, FPS), "far far")
    half = frames_of(x.size, FPS)
    assert track.open[half:].max() < 0.75 * track.open[:half].max()


@needs_espeak
@pytest.mark.parametrize("text,reason", [
    ("", "no script text"),
    ("xyzzy plugh frobozz quux", "fit"),
    ("Guten Morgen, wie geht es dir heute?", "fit"),
])
def test_a_script_that_does_not_fit_falls_back_to_recognised_phones(bob, text, reason):
    x, n, aligned = bob
    track = plan_lipsync(x, RATE, FPS, n, text)
    assert track.method == "recognised"
    assert reason in track.alignment["reason"]
    assert track.alignment["words"] == []
    # Still a talking mouth: closed in the silences, moving during the words.
    times = _times(n)
    assert np.all(track.shape[times < PAD - 0.15] == SHAPE_X)
    speaking = (times > aligned.alignment["words"][0][1]) & (times < aligned.alignment["words"][3][2])
    assert track.open[speaking].max() > 0.3
    assert np.mean(track.shape[speaking] != SHAPE_X) > 0.7


@needs_espeak
def test_words_missing_from_the_dictionary_are_spelled(tmp_path):
    path = espeak("Zorblax bought 2 maps.", tmp_path / "z.wav")
    x = mono16(path, 0.3)
    track = plan_lipsync(x, RATE, FPS, frames_of(x.size, FPS), "Zorblax bought 2 maps.")
    assert track.method == "aligned"
    assert [w[0] for w in track.alignment["words"]] == ["zorblax", "bought", "two", "maps"]
    assert "zorblax" in track.alignment["spelled_words"]


def test_without_a_phone_decoder_the_spectrum_drives_the_mouth(monkeypatch):
    from engine.media.synthetic import speech_like_audio

    x = speech_like_audio(2.0, RATE, [(0.5, 1.5)], seed=4).mono()

    def unavailable(*args, **kwargs):
        raise SpeechUnavailable("pocketsphinx is not installed")

    monkeypatch.setattr(lipsync_module, "shot_phones", unavailable)
    track = plan_lipsync(x, RATE, FPS, 50, "hello there")
    assert track.method == "spectral" and "pocketsphinx" in track.alignment["reason"]
    assert track.open.max() > 0.3 and track.shape[0] == SHAPE_X
    skipped = plan_lipsync(x, RATE, FPS, 50, "hello there", phones=False)
    assert skipped.method == "spectral" and skipped.alignment is None
    silent = plan_lipsync(np.zeros(2 * RATE, np.float32), RATE, FPS, 50, "hello there")
    assert silent.method == "spectral" and np.all(silent.shape == SHAPE_X) and np.all(silent.open == 0)


def test_features_in_blocks_match_one_pass():
    from engine.media.synthetic import speech_like_audio

    x = speech_like_audio(3.0, RATE, [(0.4, 2.6)], seed=5).mono()
    whole = audio_features(x, RATE, 24.0, 72, block=10_000)
    blocked = audio_features(x, RATE, 24.0, 72, block=7)
    for name in ("db", "energy", "voicing", "openness", "spread"):
        np.testing.assert_allclose(getattr(blocked, name), getattr(whole, name), atol=1e-9)
